import Foundation
import GatewayModel
import PostgresNIO

/// Write side of the PostgreSQL store: one batch, one transaction, the SQLite store's semantics.
///
/// Runs of consecutive `insertMessage` writes become multi-row `INSERT … ON CONFLICT DO NOTHING
/// RETURNING id` statements (the ids returned are the rows that were new; the others were
/// duplicates), chats and contacts touched by the batch are upserted once each at the end, in key
/// order (concurrent batches of several gateways lock rows in the same order). Every other write
/// runs in batch order, so a status update after an insert in the same batch sees it.
extension PostgresStore {
    typealias ChatKey = SQLiteStore.ChatKey
    typealias ContactKey = SQLiteStore.ContactKey

    struct ChatDelta {
        var organizationId: String
        var channel: String
        var info: ChatInfo
        var unread = 0
        var lastMessageId: UUID?
        var lastActivity: Double = 0
    }

    struct ContactSighting {
        var contact: Contact
        var seenAt: Double
    }

    /// Rows per statement (chats and contacts: 9 and 8 values a row, and PostgreSQL takes at most
    /// 65,535 per statement; messages: one array per column).
    static let insertChunk = 1000
    static let messageChunk = 10_000

    func apply(_ batch: [StoreWrite], on connection: PostgresConnection) async throws -> [StoreWriteResult] {
        var results: [StoreWriteResult] = []
        results.reserveCapacity(batch.count)
        var chats: [ChatKey: ChatDelta] = [:]
        var contacts: [ContactKey: ContactSighting] = [:]
        var pending: [(Message, ChatInfo)] = []

        func flushInserts() async throws {
            guard !pending.isEmpty else { return }
            var inserted = Set<String>()
            var start = 0
            while start < pending.count {
                let chunk = pending[start..<min(start + Self.messageChunk, pending.count)].map(\.0)
                inserted.formUnion(try await insert(chunk, on: connection))
                start += Self.messageChunk
            }
            for (message, chat) in pending {
                guard inserted.contains(message.id.uuidString.lowercased()) else {
                    results.append(.duplicate)
                    continue
                }
                let key = ChatKey(accountId: message.accountId, chatId: message.chatId)
                var delta = chats[key] ?? ChatDelta(organizationId: message.organizationId, channel: message.channel, info: chat)
                if chat.title != nil { delta.info = chat }
                if message.direction == .inbound, !message.isRead { delta.unread += 1 }
                let activity = message.createdAt.timeIntervalSince1970
                if activity >= delta.lastActivity {
                    delta.lastActivity = activity
                    delta.lastMessageId = message.id
                }
                chats[key] = delta
                if let contact = message.contact {
                    let key = ContactKey(organizationId: message.organizationId, channel: message.channel, id: contact.id)
                    contacts[key] = ContactSighting(contact: contact, seenAt: message.createdAt.timeIntervalSince1970)
                }
                results.append(.inserted(message))
            }
            pending.removeAll(keepingCapacity: true)
        }

        for write in batch {
            if case .insertMessage(let message, let chat) = write {
                pending.append((message, chat))
                continue
            }
            try await flushInserts()
            switch write {
            case .insertMessage:
                break
            case .upsertAccount(let account):
                try await upsert(account, on: connection)
                results.append(.account(account))
            case .updateStatus(let update):
                results.append(try await updateStatus(update, on: connection))
            case .insertOutbound(var message, let key):
                if let existing = try await storedMessage(idempotencyKey: key, organizationId: message.organizationId, on: connection) {
                    results.append(.existing(existing))
                    continue
                }
                message.idempotencyKey = key
                guard try await !insert([message], on: connection).isEmpty else {
                    // Another gateway may have stored the same key in the meantime.
                    if let existing = try await storedMessage(idempotencyKey: key, organizationId: message.organizationId, on: connection) {
                        results.append(.existing(existing))
                    } else {
                        results.append(.duplicate)
                    }
                    continue
                }
                let chatKey = ChatKey(accountId: message.accountId, chatId: message.chatId)
                var delta = chats[chatKey]
                    ?? ChatDelta(organizationId: message.organizationId, channel: message.channel, info: ChatInfo(kind: .user, title: nil))
                delta.lastActivity = max(delta.lastActivity, message.createdAt.timeIntervalSince1970)
                delta.lastMessageId = message.id
                chats[chatKey] = delta
                results.append(.inserted(message))
            case .completeSend(let id, let externalId, let status, let error, let sentAt):
                results.append(try await completeSend(id, externalId: externalId, status: status, error: error, sentAt: sentAt, on: connection))
            case .markChatRead(let organizationId, let chatId, let accountId):
                let counts = try await markChatRead(organizationId: organizationId, chatId: chatId, accountId: accountId, on: connection)
                results.append(counts.map(StoreWriteResult.markedRead) ?? .unchanged)
            case .deleteAccount(let id):
                try await connection.rows("DELETE FROM accounts WHERE id = ?", [.text(id)], logger: logger)
                try await connection.rows("DELETE FROM chats WHERE account_id = ?", [.text(id)], logger: logger)
                results.append(.deleted)
            }
        }
        try await flushInserts()
        try await upsertChats(chats, on: connection)
        try await upsertContacts(contacts, on: connection)
        return results
    }

    func upsert(_ account: Account, on connection: PostgresConnection) async throws {
        try await connection.rows("""
            INSERT INTO accounts (\(Self.accountColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                display_name = COALESCE(excluded.display_name, accounts.display_name),
                phone = COALESCE(excluded.phone, accounts.phone),
                email = COALESCE(excluded.email, accounts.email),
                status = excluded.status, error = excluded.error,
                last_activity = COALESCE(excluded.last_activity, accounts.last_activity)
            """, [
                .text(account.id), .text(account.organizationId), .text(account.platform), .text(account.displayName),
                .text(account.phone), .text(account.email), .text(account.status.rawValue), .text(account.error),
                .date(account.lastActivity), .date(account.createdAt),
            ], logger: logger)
    }

    /// Inserts the messages that are new; returns the (lowercased) ids of those. One statement
    /// for the lot: a column per array parameter, `unnest` turns them into rows (in order, so
    /// `seq` follows the batch as on SQLite).
    func insert(_ messages: [Message], on connection: PostgresConnection) async throws -> Set<String> {
        guard !messages.isEmpty else { return [] }
        func texts(_ value: (Message) throws -> String?) rethrows -> PGValue { .texts(try messages.map(value)) }
        func json<T: Encodable>(_ value: T?) throws -> String? { try value.map { String(decoding: try encoder.encode($0), as: UTF8.self) } }
        let columns: [PGValue] = [
            texts { $0.id.uuidString.lowercased() }, texts(\.organizationId), texts(\.channel), texts(\.accountId),
            texts(\.chatId), texts(\.externalId), texts(\.direction.rawValue), texts { $0.contact?.id },
            texts { $0.contact?.name }, texts { $0.contact?.username }, texts { $0.contact?.phone }, texts { $0.contact?.email },
            texts(\.content.text), try texts { try json($0.content.attachments) }, texts(\.status.rawValue),
            .bools(messages.map(\.isRead)), texts(\.error), try texts { try json($0.metadata) },
            .doubles(messages.map { $0.createdAt.timeIntervalSince1970 }), .doubles(messages.map { $0.sentAt?.timeIntervalSince1970 }),
            texts(\.idempotencyKey),
        ]
        let rows = try await connection.rows("""
            INSERT INTO messages (id, organization_id, channel, account_id, chat_id, external_id, direction,
                contact_id, contact_name, contact_username, contact_phone, contact_email, text, attachments,
                status, is_read, error, metadata, created_at, sent_at, idempotency_key)
            SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
                ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
                ?::text[], ?::boolean[], ?::text[], ?::text[], ?::float8[], ?::float8[], ?::text[])
            ON CONFLICT DO NOTHING
            RETURNING id
            """, columns, logger: logger)
        return Set(rows.compactMap { $0.string(0) })
    }

    func upsertChats(_ chats: [ChatKey: ChatDelta], on connection: PostgresConnection) async throws {
        let ordered = chats.sorted { ($0.key.accountId, $0.key.chatId) < ($1.key.accountId, $1.key.chatId) }
        var start = 0
        while start < ordered.count {
            let chunk = ordered[start..<min(start + Self.insertChunk, ordered.count)]
            start += Self.insertChunk
            var values: [PGValue] = []
            for (key, delta) in chunk {
                values += [
                    .text(key.accountId), .text(key.chatId), .text(delta.organizationId), .text(delta.channel),
                    .text(delta.info.kind.rawValue), .text(delta.info.title), .int(delta.unread),
                    .uuid(delta.lastMessageId), .double(delta.lastActivity),
                ]
            }
            try await connection.rows("""
                INSERT INTO chats (account_id, chat_id, organization_id, channel, kind, title, unread_count,
                    last_message_id, last_activity)
                VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?::integer, ?, ?)", count: chunk.count).joined(separator: ", "))
                ON CONFLICT (account_id, chat_id) DO UPDATE SET
                    title = COALESCE(excluded.title, chats.title),
                    unread_count = chats.unread_count + excluded.unread_count,
                    last_message_id = CASE WHEN excluded.last_activity >= chats.last_activity
                        THEN excluded.last_message_id ELSE chats.last_message_id END,
                    last_activity = GREATEST(chats.last_activity, excluded.last_activity)
                """, values, logger: logger)
        }
    }

    func upsertContacts(_ contacts: [ContactKey: ContactSighting], on connection: PostgresConnection) async throws {
        let ordered = contacts.sorted {
            ($0.key.organizationId, $0.key.channel, $0.key.id) < ($1.key.organizationId, $1.key.channel, $1.key.id)
        }
        var start = 0
        while start < ordered.count {
            let chunk = ordered[start..<min(start + Self.insertChunk, ordered.count)]
            start += Self.insertChunk
            var values: [PGValue] = []
            for (key, sighting) in chunk {
                let contact = sighting.contact
                values += [
                    .text(key.organizationId), .text(key.channel), .text(key.id), .text(contact.name), .text(contact.username),
                    .text(contact.phone), .text(contact.email), .double(sighting.seenAt),
                ]
            }
            try await connection.rows("""
                INSERT INTO contacts (organization_id, channel, external_id, name, username, phone, email, updated_at)
                VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", "))
                ON CONFLICT (organization_id, channel, external_id) DO UPDATE SET
                    name = COALESCE(excluded.name, contacts.name), username = COALESCE(excluded.username, contacts.username),
                    phone = COALESCE(excluded.phone, contacts.phone), email = COALESCE(excluded.email, contacts.email),
                    updated_at = excluded.updated_at
                """, values, logger: logger)
        }
    }

    func updateStatus(_ update: MessageStatusUpdate, on connection: PostgresConnection) async throws -> StoreWriteResult {
        let found = try await connection.rows("""
            SELECT id, status, organization_id, channel, direction, is_read FROM messages
            WHERE account_id = ? AND chat_id = ? AND external_id = ? FOR UPDATE
            """, [.text(update.accountId), .text(update.chatId), .text(update.externalId)], logger: logger)
        guard let row = found.first, let idText = row.string(0), let id = UUID(uuidString: idText),
            let current = row.string(1).flatMap(MessageStatus.init(rawValue:)), let organizationId = row.string(2),
            let channel = row.string(3)
        else { return .unchanged }
        let wasUnreadInbound = row.string(4) == Direction.inbound.rawValue && row.bool(5) == false
        guard current.canAdvance(to: update.status) else { return .unchanged }
        let becomesRead = update.status == .read
        try await connection.rows(
            "UPDATE messages SET status = ?, error = COALESCE(?, error), is_read = (is_read OR ?) WHERE id = ?",
            [.text(update.status.rawValue), .text(update.error), .bool(becomesRead), .text(idText)], logger: logger)
        if becomesRead, wasUnreadInbound {
            try await connection.rows(
                "UPDATE chats SET unread_count = GREATEST(unread_count - 1, 0) WHERE account_id = ? AND chat_id = ?",
                [.text(update.accountId), .text(update.chatId)], logger: logger)
        }
        let change = MessageStatusChange(
            messageId: id, channel: channel, accountId: update.accountId, chatId: update.chatId,
            externalId: update.externalId, status: update.status, error: update.error)
        return .statusChanged(change, organizationId: organizationId)
    }

    /// Ends an API send. A channel that already reported the same message (same external id)
    /// through its event stream loses that copy: the API's row is the one the CRM knows.
    func completeSend(
        _ id: UUID, externalId: String?, status: MessageStatus, error: String?, sentAt: Date?, on connection: PostgresConnection
    ) async throws -> StoreWriteResult {
        guard var message = try await storedMessage(id: id, on: connection, lock: true) else { return .unchanged }
        let idText = id.uuidString.lowercased()
        if let externalId {
            try await connection.rows(
                "DELETE FROM messages WHERE account_id = ? AND chat_id = ? AND external_id = ? AND id <> ?",
                [.text(message.accountId), .text(message.chatId), .text(externalId), .text(idText)], logger: logger)
        }
        try await connection.rows("""
            UPDATE messages SET status = ?, external_id = COALESCE(?, external_id), error = ?, sent_at = COALESCE(?, sent_at)
            WHERE id = ?
            """, [.text(status.rawValue), .text(externalId), .text(error), .date(sentAt), .text(idText)], logger: logger)
        message.status = status
        message.externalId = externalId ?? message.externalId
        message.error = error
        message.sentAt = sentAt ?? message.sentAt
        return .updated(message)
    }

    /// Marks a chat's messages read; returns how many changed, per account (nil: no such chat).
    func markChatRead(organizationId: String, chatId: String, accountId: String?, on connection: PostgresConnection) async throws
        -> [String: Int]?
    {
        let scope: [PGValue] = [.text(organizationId), .text(chatId), .text(accountId), .text(accountId)]
        let exists = try await connection.rows(
            "SELECT 1 FROM chats WHERE organization_id = ? AND chat_id = ? AND (?::text IS NULL OR account_id = ?) LIMIT 1",
            scope, logger: logger)
        guard !exists.isEmpty else { return nil }
        // One statement marks and counts (RETURNING the rows it changed).
        let changed = try await connection.rows("""
            WITH changed AS (
                UPDATE messages SET is_read = TRUE,
                    status = CASE WHEN direction = 'inbound' AND status IN ('pending', 'sent', 'delivered') THEN 'read' ELSE status END
                WHERE organization_id = ? AND chat_id = ? AND (?::text IS NULL OR account_id = ?) AND NOT is_read
                RETURNING account_id
            )
            SELECT account_id, COUNT(*) FROM changed GROUP BY account_id
            """, scope, logger: logger)
        var counts: [String: Int] = [:]
        for row in changed {
            if let account = row.string(0) { counts[account] = row.int(1) ?? 0 }
        }
        try await connection.rows(
            "UPDATE chats SET unread_count = 0 WHERE organization_id = ? AND chat_id = ? AND (?::text IS NULL OR account_id = ?)",
            scope, logger: logger)
        return counts
    }
}
