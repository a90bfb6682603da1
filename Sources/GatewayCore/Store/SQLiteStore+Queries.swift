import CSQLite
import Foundation
import GatewayModel

/// Read side of the embedded store (pooled reader connections).
extension SQLiteStore {
    public func account(id: String) async throws -> Account? {
        try read { reader in
            let statement = try reader.prepare("SELECT \(Self.accountColumns) FROM accounts WHERE id = ?")
            statement.bind(1, id)
            defer { statement.reset() }
            return try statement.step() ? Self.account(from: statement) : nil
        }
    }

    public func accounts(organizationId: String) async throws -> [Account] {
        try read { reader in
            let statement = try reader.prepare(
                "SELECT \(Self.accountColumns) FROM accounts WHERE organization_id = ? ORDER BY created_at DESC, id")
            statement.bind(1, organizationId)
            var accounts: [Account] = []
            while try statement.step() { accounts.append(Self.account(from: statement)) }
            return accounts
        }
    }

    public func message(id: UUID, organizationId: String) async throws -> Message? {
        try read { reader in
            let message = try storedMessage(idText: id.lowercasedString, on: reader)
            return message?.organizationId == organizationId ? message : nil
        }
    }

    public func messages(_ query: MessageQuery) async throws -> Page<Message> {
        var items: [Message] = []
        let position = try messageRows(query) { _, _, _, columns in items.append(Self.message(from: try columns())) }
        return Page(items: items, position)
    }

    /// Messages whose revision has not changed since a listing last wrote them are copied from
    /// `messageCache`; the others are read in full, written and kept there.
    public func writeMessages(_ query: MessageQuery, into writer: inout JSONWriter) async throws -> PagePosition {
        writer.openArray()
        let position = try messageRows(query) { seq, revision, id, columns in
            writer.nextElement()
            if let json = messageCache.json(key: seq, revision: revision, identity: id) {
                writer.raw(json)
            } else {
                let start = writer.byteCount
                Self.writeMessage(from: try columns(), into: &writer)
                messageCache.keep(writer.bytes(from: start), key: seq, revision: revision, identity: id)
            }
        }
        writer.closeArray()
        return position
    }

    private static let messageBySeq = "SELECT \(messageColumns) FROM messages WHERE seq = ?"

    /// Steps through the messages `query` selects, handing `row` each one's seq, revision and id,
    /// and a function that reads all its columns (as `messageColumns`) for when they are needed.
    /// Both statements run in one read transaction, so the columns are those of that revision.
    private func messageRows(
        _ query: MessageQuery,
        _ row: (_ seq: Int, _ revision: Int, _ id: UnsafeBufferPointer<UInt8>?, _ columns: () throws -> SQLiteStatement) throws -> Void
    ) throws -> PagePosition {
        var filter = SQLFilter("organization_id = ?", .text(query.organizationId))
        if let channel = query.channel { filter.add("channel = ?", .text(channel)) }
        if let account = query.accountId { filter.add("account_id = ?", .text(account)) }
        if let chat = query.chatId { filter.add("chat_id = ?", .text(chat)) }
        if let contact = query.contactId { filter.add("contact_id = ?", .text(contact)) }
        if let direction = query.direction { filter.add("direction = ?", .text(direction.rawValue)) }
        if let status = query.status { filter.add("status = ?", .text(status.rawValue)) }
        if let unread = query.unread { filter.add("is_read = ?", .int(unread ? 0 : 1)) }
        if let from = query.from { filter.add("created_at >= ?", .double(from.timeIntervalSince1970)) }
        if let to = query.to { filter.add("created_at <= ?", .double(to.timeIntervalSince1970)) }
        if let search = query.search, !search.isEmpty {
            let escaped = search.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            filter.add("text LIKE ? ESCAPE '\\'", .text("%\(escaped)%"))
        }
        return try read { reader in
            let window = try PageWindow(query.paging, limit: query.limit, filter: filter, table: "messages", on: reader) { parts in
                guard parts.count == 2, let time = Double(parts[0]), let seq = Int(parts[1]) else { return nil }
                return ("(created_at < ? OR (created_at = ? AND seq < ?))", [.double(time), .double(time), .int(seq)])
            }
            let keys = try reader.prepare("""
                SELECT seq, revision, id, created_at FROM messages WHERE \(window.filter.sql)
                ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?
                """)
            keys.bind(window.filter.values + [.int(query.limit + 1), .int(window.offset)])
            let message = try reader.prepare(Self.messageBySeq)
            defer {
                message.reset()
                keys.reset()
            }
            var count = 0
            var lastKey: [String] = []
            while try keys.step(), count < query.limit {
                let seq = keys.int(0) ?? 0
                try row(seq, keys.int(1) ?? 0, keys.utf8(2)) { try Self.fetch(message, key: seq) }
                count += 1
                // Only a full page's last row can start the next page.
                if count == query.limit { lastKey = [String(keys.double(3) ?? 0), String(seq)] }
            }
            return window.position(count: count, lastKey: lastKey, hasMore: try Self.stepped(keys))
        }
    }

    /// Steps `statement` (one row by an integer key, within a listing's read transaction) to its row.
    private static func fetch(_ statement: SQLiteStatement, key: Int) throws -> SQLiteStatement {
        statement.reset()
        statement.bind([.int(key)])
        guard try statement.step() else {
            throw SQLiteError(code: SQLITE_INTERNAL, message: "row \(key) vanished within its read transaction")
        }
        return statement
    }

    /// The message columns prefixed `m.` for the chats join (built once, not per request).
    private static let lastMessageColumns =
        "m." + messageColumns.replacingOccurrences(of: ", ", with: ", m.").replacingOccurrences(of: ",\n", with: ",\nm.")

    public func chats(_ query: ChatQuery) async throws -> Page<Chat> {
        var items: [Chat] = []
        let position = try chatRows(query) { _, _, columns in
            let statement = try columns()
            let lastMessage = statement.string(9) == nil ? nil : Self.message(from: statement, at: 8)
            items.append(Chat(
                organizationId: statement.string(2) ?? "", channel: statement.string(3) ?? "",
                accountId: statement.string(0) ?? "", chatId: statement.string(1) ?? "",
                kind: statement.string(4).flatMap(ChatKind.init(rawValue:)) ?? .user, title: statement.string(5),
                unreadCount: statement.int(6) ?? 0, lastMessage: lastMessage,
                lastActivity: statement.double(7).map(Date.init(timeIntervalSince1970:))))
        }
        return Page(items: items, position)
    }

    /// Chats whose revision has not changed since a listing last wrote them are copied from
    /// `chatCache`; the others are read in full, written and kept there.
    public func writeChats(_ query: ChatQuery, into writer: inout JSONWriter) async throws -> PagePosition {
        writer.openArray()
        let position = try chatRows(query) { rowid, revision, columns in
            writer.nextElement()
            if let json = chatCache.json(key: rowid, revision: revision) {
                writer.raw(json)
            } else {
                let start = writer.byteCount
                Self.writeChat(from: try columns(), into: &writer)
                chatCache.keep(writer.bytes(from: start), key: rowid, revision: revision)
            }
        }
        writer.closeArray()
        return position
    }

    /// A chat's columns by rowid: the chat's, then its last message's from column 8.
    private static let chatByRowid = """
        SELECT c.account_id, c.chat_id, c.organization_id, c.channel, c.kind, c.title, c.unread_count,
            c.last_activity, \(lastMessageColumns)
        FROM chats c LEFT JOIN messages m ON m.seq = c.last_message_seq AND m.id = c.last_message_id
        WHERE c.rowid = ?
        """

    /// Steps through the chats `query` selects, handing `row` each one's rowid and revision, and
    /// a function that reads all its columns (as in `chatByRowid`) for when they are needed.
    /// Both statements run in one read transaction, so the columns are those of that revision.
    private func chatRows(
        _ query: ChatQuery, _ row: (_ rowid: Int, _ revision: Int, _ columns: () throws -> SQLiteStatement) throws -> Void
    ) throws -> PagePosition {
        var filter = SQLFilter("c.organization_id = ?", .text(query.organizationId))
        if let channel = query.channel { filter.add("c.channel = ?", .text(channel)) }
        if let account = query.accountId { filter.add("c.account_id = ?", .text(account)) }
        if query.unreadOnly { filter.add("c.unread_count > 0") }
        return try read { reader in
            let window = try PageWindow(query.paging, limit: query.limit, filter: filter, table: "chats c", on: reader) { parts in
                guard parts.count == 3, let time = Double(parts[0]) else { return nil }
                return (
                    "(c.last_activity < ? OR (c.last_activity = ? AND (c.account_id < ? OR (c.account_id = ? AND c.chat_id < ?))))",
                    [.double(time), .double(time), .text(parts[1]), .text(parts[1]), .text(parts[2])]
                )
            }
            let keys = try reader.prepare("""
                SELECT c.rowid, c.revision, c.last_activity, c.account_id, c.chat_id FROM chats c
                WHERE \(window.filter.sql)
                ORDER BY c.last_activity DESC, c.account_id DESC, c.chat_id DESC LIMIT ? OFFSET ?
                """)
            keys.bind(window.filter.values + [.int(query.limit + 1), .int(window.offset)])
            let chat = try reader.prepare(Self.chatByRowid)
            defer {
                chat.reset()
                keys.reset()
            }
            var count = 0
            var lastKey: [String] = []
            while try keys.step(), count < query.limit {
                let rowid = keys.int(0) ?? 0
                try row(rowid, keys.int(1) ?? 0) { try Self.fetch(chat, key: rowid) }
                count += 1
                // Only a full page's last row can start the next page.
                if count == query.limit {
                    lastKey = [String(keys.double(2) ?? 0), keys.string(3) ?? "", keys.string(4) ?? ""]
                }
            }
            return window.position(count: count, lastKey: lastKey, hasMore: try Self.stepped(keys))
        }
    }

    /// After a `while step(), items.count < limit` loop: whether the loop stopped on a row (the
    /// LIMIT+1 one, meaning there is more); resets the statement either way.
    static func stepped(_ statement: SQLiteStatement) throws -> Bool {
        defer { statement.reset() }
        return statement.hasRow
    }

    public func chatExists(organizationId: String, chatId: String) async throws -> Bool {
        try read { reader in
            let statement = try reader.prepare("SELECT 1 FROM messages WHERE organization_id = ? AND chat_id = ? LIMIT 1")
            statement.bind([.text(organizationId), .text(chatId)])
            defer { statement.reset() }
            return try statement.step()
        }
    }

    public func messagingStats(organizationId: String, from: Date, to: Date) async throws -> MessagingStats {
        try read { reader in
            let range: [SQLiteValue] = [.text(organizationId), .double(from.timeIntervalSince1970), .double(to.timeIntervalSince1970)]
            let scope = "organization_id = ? AND created_at >= ? AND created_at <= ?"
            func grouped(_ column: String) throws -> [String: Int] {
                let statement = try reader.prepare("SELECT \(column), COUNT(*) FROM messages WHERE \(scope) GROUP BY \(column)")
                statement.bind(range)
                var counts: [String: Int] = [:]
                while try statement.step() { counts[statement.string(0) ?? ""] = statement.int(1) ?? 0 }
                return counts
            }
            let byDirection = try grouped("direction")
            let unreadStatement = try reader.prepare(
                "SELECT COUNT(*) FROM messages WHERE \(scope) AND is_read = 0 AND direction = 'inbound'")
            unreadStatement.bind(range)
            let unread = try unreadStatement.step() ? unreadStatement.int(0) ?? 0 : 0
            unreadStatement.reset()
            let days = try reader.prepare("""
                SELECT date(created_at, 'unixepoch') AS day, COUNT(*), SUM(direction = 'inbound'), SUM(direction = 'outbound')
                FROM messages WHERE \(scope) GROUP BY day ORDER BY day
                """)
            days.bind(range)
            var perDay: [MessagingStats.Day] = []
            while try days.step() {
                perDay.append(.init(date: days.string(0) ?? "", total: days.int(1) ?? 0, inbound: days.int(2) ?? 0, outbound: days.int(3) ?? 0))
            }
            var directions = ["inbound": 0, "outbound": 0]
            directions.merge(byDirection) { _, new in new }
            return MessagingStats(
                from: from, to: to, total: byDirection.values.reduce(0, +), unread: unread, byChannel: try grouped("channel"),
                byDirection: directions, byStatus: try grouped("status"), perDay: perDay)
        }
    }

    // MARK: - Webhook failures

    public func recordWebhookFailure(_ failure: WebhookFailure) async throws {
        try await onWriterConnection { writer in
            let statement = try writer.prepare("""
                INSERT OR REPLACE INTO webhook_failures (id, organization_id, url, secret, event_id, event_type, body, attempts,
                    last_error, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            statement.bind([
                .text(failure.id.lowercasedString), .text(failure.organizationId), .text(failure.url),
                Self.value(failure.secret), .text(failure.eventId.lowercasedString), .text(failure.eventType),
                .blob(failure.body), .int(failure.attempts), .text(failure.lastError), .double(failure.failedAt.timeIntervalSince1970),
            ])
            try statement.run()
        }
    }

    public func webhookFailures(organizationId: String) async throws -> [WebhookFailure] {
        try read { reader in
            let statement = try reader.prepare("""
                SELECT id, organization_id, url, secret, event_id, event_type, body, attempts, last_error, failed_at
                FROM webhook_failures WHERE organization_id = ? ORDER BY failed_at DESC LIMIT 1000
                """)
            statement.bind(1, organizationId)
            var failures: [WebhookFailure] = []
            while try statement.step() {
                failures.append(WebhookFailure(
                    id: statement.string(0).flatMap(UUID.init(text:)) ?? UUID(), organizationId: statement.string(1) ?? "",
                    url: statement.string(2) ?? "", secret: statement.string(3),
                    eventId: statement.string(4).flatMap(UUID.init(text:)) ?? UUID(), eventType: statement.string(5) ?? "",
                    body: statement.data(6) ?? Data(), attempts: statement.int(7) ?? 0, lastError: statement.string(8) ?? "",
                    failedAt: Date(timeIntervalSince1970: statement.double(9) ?? 0)))
            }
            return failures
        }
    }

    public func removeWebhookFailure(id: UUID, organizationId: String) async throws -> WebhookFailure? {
        guard let failure = try await webhookFailures(organizationId: organizationId).first(where: { $0.id == id }) else {
            return nil
        }
        try await onWriterConnection { writer in
            let statement = try writer.prepare("DELETE FROM webhook_failures WHERE id = ?")
            statement.bind(1, id.lowercasedString)
            try statement.run()
        }
        return failure
    }
}
