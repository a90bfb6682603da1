import Foundation
import GatewayModel

extension SQLiteStore {

    /// Chat changes accumulated over a batch so each chat is written once per transaction.
    struct ChatDelta {
        var organizationId: String
        var channel: String
        var info: ChatInfo
        var unread = 0
        var lastMessageId: UUID?
        var lastActivity: Double = 0
    }

    struct ChatKey: Hashable {
        var accountId: String
        var chatId: String
    }

    struct ContactKey: Hashable {
        var organizationId: String
        var channel: String
        var id: String
    }

    struct ContactSighting {
        var contact: Contact
        var seenAt: Double
    }

    func apply(_ batch: [StoreWrite]) throws -> [StoreWriteResult] {
        var results: [StoreWriteResult] = []
        results.reserveCapacity(batch.count)
        var chats: [ChatKey: ChatDelta] = [:]
        var contacts: [ContactKey: ContactSighting] = [:]
        for write in batch {
            switch write {
            case .upsertAccount(let account):
                try upsert(account)
                results.append(.account(account))
            case .insertMessage(let message, let chat):
                guard try insert(message) else {
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
            case .updateStatus(let update):
                results.append(try updateStatus(update))
            case .insertOutbound(var message, let key):
                if let existing = try storedMessage(idempotencyKey: key, organizationId: message.organizationId, on: writer) {
                    results.append(.existing(existing))
                    continue
                }
                message.idempotencyKey = key
                guard try insert(message) else {
                    results.append(.duplicate)
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
                results.append(try completeSend(id, externalId: externalId, status: status, error: error, sentAt: sentAt))
            case .markChatRead(let organizationId, let chatId, let accountId):
                let counts = try markChatRead(organizationId: organizationId, chatId: chatId, accountId: accountId)
                results.append(counts.map(StoreWriteResult.markedRead) ?? .unchanged)
            case .deleteAccount(let id):
                for sql: StaticString in ["DELETE FROM accounts WHERE id = ?", "DELETE FROM chats WHERE account_id = ?"] {
                    let statement = try writer.prepare(sql)
                    statement.bind(1, id)
                    try statement.run()
                }
                results.append(.deleted)
            }
        }
        for (key, delta) in chats { try upsertChat(key, delta) }
        for (key, sighting) in contacts where knownContacts[key] != sighting.contact {
            try upsertContact(key, sighting)
            if knownContacts.count >= Self.knownContactsLimit { knownContacts.removeAll(keepingCapacity: true) }
            knownContacts[key] = sighting.contact
        }
        return results
    }

    func upsert(_ account: Account) throws {
        let statement = try writer.prepare("""
            INSERT INTO accounts (\(Self.accountColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                display_name = COALESCE(excluded.display_name, display_name),
                phone = COALESCE(excluded.phone, phone),
                email = COALESCE(excluded.email, email),
                status = excluded.status, error = excluded.error,
                last_activity = COALESCE(excluded.last_activity, last_activity)
            """)
        statement.bind([
            .text(account.id), .text(account.organizationId), .text(account.platform), Self.value(account.displayName),
            Self.value(account.phone), Self.value(account.email), .text(account.status.rawValue), Self.value(account.error),
            account.lastActivity.map { .double($0.timeIntervalSince1970) } ?? .null,
            .double(account.createdAt.timeIntervalSince1970),
        ])
        try statement.run()
    }

    /// True when the message was new.
    func insert(_ message: Message) throws -> Bool {
        let statement = try writer.prepare("""
            INSERT INTO messages (id, organization_id, channel, account_id, chat_id, external_id, direction,
                contact_id, contact_name, contact_username, contact_phone, contact_email, text, attachments,
                status, is_read, error, metadata, created_at, sent_at, idempotency_key)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (account_id, chat_id, external_id) DO NOTHING
            """)
        statement.bind(1, message.id.lowercasedString)
        statement.bind(2, message.organizationId)
        statement.bind(3, message.channel)
        statement.bind(4, message.accountId)
        statement.bind(5, message.chatId)
        statement.bind(6, message.externalId)
        statement.bind(7, message.direction.rawValue)
        statement.bind(8, message.contact?.id)
        statement.bind(9, message.contact?.name)
        statement.bind(10, message.contact?.username)
        statement.bind(11, message.contact?.phone)
        statement.bind(12, message.contact?.email)
        statement.bind(13, message.content.text)
        statement.bind(14, try message.content.attachments.map { String(decoding: try encoder.encode($0), as: UTF8.self) })
        statement.bind(15, message.status.rawValue)
        statement.bind(16, message.isRead ? 1 : 0)
        statement.bind(17, message.error)
        statement.bind(18, try message.metadata.map { String(decoding: try encoder.encode($0), as: UTF8.self) })
        statement.bind(19, message.createdAt.timeIntervalSince1970)
        statement.bind(20, message.sentAt?.timeIntervalSince1970)
        statement.bind(21, message.idempotencyKey)
        try statement.run()
        return writer.changes == 1
    }

    func upsertChat(_ key: ChatKey, _ delta: ChatDelta) throws {
        let statement = try writer.prepare("""
            INSERT INTO chats (account_id, chat_id, organization_id, channel, kind, title, unread_count,
                last_message_id, last_activity, last_message_seq)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, (SELECT seq FROM messages WHERE id = ?8))
            ON CONFLICT (account_id, chat_id) DO UPDATE SET
                title = COALESCE(excluded.title, title),
                unread_count = unread_count + excluded.unread_count,
                last_message_id = CASE WHEN excluded.last_activity >= COALESCE(last_activity, 0)
                    THEN excluded.last_message_id ELSE last_message_id END,
                last_message_seq = CASE WHEN excluded.last_activity >= COALESCE(last_activity, 0)
                    THEN excluded.last_message_seq ELSE last_message_seq END,
                last_activity = MAX(COALESCE(last_activity, 0), excluded.last_activity)
            """)
        statement.bind([
            .text(key.accountId), .text(key.chatId), .text(delta.organizationId), .text(delta.channel),
            .text(delta.info.kind.rawValue), Self.value(delta.info.title), .int(delta.unread),
            Self.value(delta.lastMessageId?.lowercasedString), .double(delta.lastActivity),
        ])
        try statement.run()
    }

    func upsertContact(_ key: ContactKey, _ sighting: ContactSighting) throws {
        let contact = sighting.contact
        let statement = try writer.prepare("""
            INSERT INTO contacts (organization_id, channel, external_id, name, username, phone, email, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (organization_id, channel, external_id) DO UPDATE SET
                name = COALESCE(excluded.name, name), username = COALESCE(excluded.username, username),
                phone = COALESCE(excluded.phone, phone), email = COALESCE(excluded.email, email),
                updated_at = excluded.updated_at
            """)
        statement.bind([
            .text(key.organizationId), .text(key.channel), .text(key.id), Self.value(contact.name),
            Self.value(contact.username), Self.value(contact.phone), Self.value(contact.email), .double(sighting.seenAt),
        ])
        try statement.run()
    }

    func updateStatus(_ update: MessageStatusUpdate) throws -> StoreWriteResult {
        let find = try writer.prepare("""
            SELECT id, status, organization_id, channel, direction, is_read FROM messages
            WHERE account_id = ? AND chat_id = ? AND external_id = ?
            """)
        find.bind([.text(update.accountId), .text(update.chatId), .text(update.externalId)])
        guard try find.step(), let idText = find.string(0), let id = UUID(text: idText),
            let current = find.string(1).flatMap(MessageStatus.init(rawValue:)), let organizationId = find.string(2),
            let channel = find.string(3)
        else {
            find.reset()
            return .unchanged
        }
        let wasUnreadInbound = find.string(4) == Direction.inbound.rawValue && find.int(5) == 0
        find.reset()
        guard current.canAdvance(to: update.status) else { return .unchanged }
        let becomesRead = update.status == .read
        let statement = try writer.prepare("""
            UPDATE messages SET status = ?, error = COALESCE(?, error), is_read = MAX(is_read, ?) WHERE id = ?
            """)
        statement.bind([.text(update.status.rawValue), Self.value(update.error), .int(becomesRead ? 1 : 0), .text(idText)])
        try statement.run()
        if becomesRead, wasUnreadInbound {
            let chat = try writer.prepare("""
                UPDATE chats SET unread_count = MAX(unread_count - 1, 0) WHERE account_id = ? AND chat_id = ?
                """)
            chat.bind([.text(update.accountId), .text(update.chatId)])
            try chat.run()
        }
        let change = MessageStatusChange(
            messageId: id, channel: channel, accountId: update.accountId, chatId: update.chatId,
            externalId: update.externalId, status: update.status, error: update.error)
        return .statusChanged(change, organizationId: organizationId)
    }

    /// Ends an API send. A channel that already reported the same message (same external id)
    /// through its event stream loses that copy: the API's row is the one the CRM knows.
    func completeSend(_ id: UUID, externalId: String?, status: MessageStatus, error: String?, sentAt: Date?) throws
        -> StoreWriteResult
    {
        let idText = id.lowercasedString
        guard var message = try storedMessage(idText: idText, on: writer) else { return .unchanged }
        if let externalId {
            let duplicate = try writer.prepare(
                "DELETE FROM messages WHERE account_id = ? AND chat_id = ? AND external_id = ? AND id != ?")
            duplicate.bind([.text(message.accountId), .text(message.chatId), .text(externalId), .text(idText)])
            try duplicate.run()
        }
        let update = try writer.prepare("""
            UPDATE messages SET status = ?, external_id = COALESCE(?, external_id), error = ?, sent_at = COALESCE(?, sent_at)
            WHERE id = ?
            """)
        update.bind([
            .text(status.rawValue), Self.value(externalId), Self.value(error),
            sentAt.map { .double($0.timeIntervalSince1970) } ?? .null, .text(idText),
        ])
        try update.run()
        message.status = status
        message.externalId = externalId ?? message.externalId
        message.error = error
        message.sentAt = sentAt ?? message.sentAt
        return .updated(message)
    }

    /// Marks a chat's messages read; returns how many changed, per account (nil: no such chat).
    func markChatRead(organizationId: String, chatId: String, accountId: String?) throws -> [String: Int]? {
        let exists = try writer.prepare("""
            SELECT 1 FROM chats WHERE organization_id = ? AND chat_id = ? AND (? IS NULL OR account_id = ?) LIMIT 1
            """)
        exists.bind([.text(organizationId), .text(chatId), Self.value(accountId), Self.value(accountId)])
        guard try exists.step() else { return nil }
        exists.reset()
        var counts: [String: Int] = [:]
        let find = try writer.prepare("""
            SELECT account_id, COUNT(*) FROM messages
            WHERE organization_id = ? AND chat_id = ? AND (? IS NULL OR account_id = ?) AND is_read = 0
            GROUP BY account_id
            """)
        find.bind([.text(organizationId), .text(chatId), Self.value(accountId), Self.value(accountId)])
        while try find.step() {
            if let account = find.string(0) { counts[account] = find.int(1) ?? 0 }
        }
        let messages = try writer.prepare("""
            UPDATE messages SET is_read = 1,
                status = CASE WHEN direction = 'inbound' AND status IN ('pending', 'sent', 'delivered') THEN 'read' ELSE status END
            WHERE organization_id = ? AND chat_id = ? AND (? IS NULL OR account_id = ?) AND is_read = 0
            """)
        messages.bind([.text(organizationId), .text(chatId), Self.value(accountId), Self.value(accountId)])
        try messages.run()
        let chats = try writer.prepare("""
            UPDATE chats SET unread_count = 0 WHERE organization_id = ? AND chat_id = ? AND (? IS NULL OR account_id = ?)
            """)
        chats.bind([.text(organizationId), .text(chatId), Self.value(accountId), Self.value(accountId)])
        try chats.run()
        return counts
    }
}
