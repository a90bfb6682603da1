import CSQLite
import Foundation
import GatewayModel

/// The messages and chats listings of the embedded store, in two steps within one read
/// transaction: the page's keys (a row's key, revision, id and sort key, in order), then, in one
/// statement and in the same order, the full rows of only those keys that are needed — for JSON,
/// the rows whose JSON is not kept for their revision in `messageCache` / `chatCache`
/// (see `RowJSONCache`).
extension SQLiteStore {
    /// One row of a page: its key, revision and identity, and its JSON when kept for that revision.
    private struct ListedRow {
        var key: Int
        var revision: Int
        var identity: [UInt8]?
        var json: [UInt8]?
    }

    // MARK: Messages

    public func messages(_ query: MessageQuery) async throws -> Page<Message> {
        try read { reader in
            try reader.readTransaction {
                var keys: [Int] = []
                let position = try messageKeys(query, on: reader) { seq, _, _ in keys.append(seq) }
                var messages: [Message] = []
                try Self.rows(Self.messagesBySeq, keys: keys, on: reader) { messages.append(Self.message(from: $0)) }
                return Page(items: messages, position)
            }
        }
    }

    /// Messages whose JSON is kept for their revision are copied; the others are read, written
    /// and kept.
    public func writeMessages(_ query: MessageQuery, into writer: inout JSONWriter) async throws -> PagePosition {
        try read { reader in
            try reader.readTransaction {
                var listed: [ListedRow] = []
                listed.reserveCapacity(query.limit)
                let keeping = messageCache.byteLimit > 0
                let position = try messageKeys(query, on: reader) { seq, revision, id in
                    let json = messageCache.json(key: seq, revision: revision, identity: id)
                    listed.append(ListedRow(key: seq, revision: revision, identity: json == nil && keeping ? id.map(Array.init) : nil, json: json))
                }
                try Self.write(listed, keeping: messageCache, into: &writer, missing: Self.messagesBySeq, on: reader) {
                    Self.writeMessage(from: $0, into: &$1)
                }
                return position
            }
        }
    }

    /// Full rows (`messageColumns`) of the messages whose seqs are in the JSON array bound to it,
    /// in its order.
    private static let messagesBySeq =
        "SELECT \(lastMessageColumns) FROM json_each(?) k CROSS JOIN messages m ON m.seq = k.value"

    /// Steps through the messages `query` selects, in order, handing `row` each one's seq,
    /// revision and id.
    private func messageKeys(
        _ query: MessageQuery, on reader: SQLiteConnection, _ row: (_ seq: Int, _ revision: Int, _ id: UnsafeBufferPointer<UInt8>?) -> Void
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
        let window = try PageWindow(query.paging, limit: query.limit, filter: filter, table: "messages", on: reader) { parts in
            guard parts.count == 2, let time = Double(parts[0]), let seq = Int(parts[1]) else { return nil }
            return ("(created_at < ? OR (created_at = ? AND seq < ?))", [.double(time), .double(time), .int(seq)])
        }
        let statement = try reader.prepare("""
            SELECT seq, revision, id, created_at FROM messages WHERE \(window.filter.sql)
            ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?
            """)
        statement.bind(window.filter.values + [.int(query.limit + 1), .int(window.offset)])
        var count = 0
        var lastKey: [String] = []
        while try statement.step(), count < query.limit {
            row(statement.int(0) ?? 0, statement.int(1) ?? 0, statement.utf8(2))
            count += 1
            // Only a full page's last row can start the next page.
            if count == query.limit { lastKey = [String(statement.double(3) ?? 0), String(statement.int(0) ?? 0)] }
        }
        return window.position(count: count, lastKey: lastKey, hasMore: try Self.stepped(statement))
    }

    // MARK: Chats

    public func chats(_ query: ChatQuery) async throws -> Page<Chat> {
        try read { reader in
            try reader.readTransaction {
                var keys: [Int] = []
                let position = try chatKeys(query, on: reader) { rowid, _ in keys.append(rowid) }
                var chats: [Chat] = []
                try Self.rows(Self.chatsByRowid, keys: keys, on: reader) { row in
                    chats.append(Chat(
                        organizationId: row.string(3) ?? "", channel: row.string(4) ?? "",
                        accountId: row.string(1) ?? "", chatId: row.string(2) ?? "",
                        kind: row.string(5).flatMap(ChatKind.init(rawValue:)) ?? .user, title: row.string(6),
                        unreadCount: row.int(7) ?? 0, lastMessage: row.string(10) == nil ? nil : Self.message(from: row, at: 9),
                        lastActivity: row.double(8).map(Date.init(timeIntervalSince1970:))))
                }
                return Page(items: chats, position)
            }
        }
    }

    /// Chats whose JSON is kept for their revision are copied; the others are read, written and
    /// kept.
    public func writeChats(_ query: ChatQuery, into writer: inout JSONWriter) async throws -> PagePosition {
        try read { reader in
            try reader.readTransaction {
                var listed: [ListedRow] = []
                listed.reserveCapacity(query.limit)
                let position = try chatKeys(query, on: reader) { rowid, revision in
                    listed.append(ListedRow(key: rowid, revision: revision, json: chatCache.json(key: rowid, revision: revision)))
                }
                try Self.write(listed, keeping: chatCache, into: &writer, missing: Self.chatsByRowid, on: reader) {
                    Self.writeChat(from: $0, at: 1, into: &$1)
                }
                return position
            }
        }
    }

    /// Full rows of the chats whose rowids are in the JSON array bound to it, in its order: the
    /// rowid, the chat's columns from column 1, its last message's from column 9.
    private static let chatsByRowid = """
        SELECT c.rowid, c.account_id, c.chat_id, c.organization_id, c.channel, c.kind, c.title, c.unread_count,
            c.last_activity, \(lastMessageColumns)
        FROM json_each(?) k CROSS JOIN chats c ON c.rowid = k.value
        LEFT JOIN messages m ON m.seq = c.last_message_seq AND m.id = c.last_message_id
        """

    /// The message columns prefixed `m.` for the chats join (built once, not per request).
    private static let lastMessageColumns =
        "m." + messageColumns.replacingOccurrences(of: ", ", with: ", m.").replacingOccurrences(of: ",\n", with: ",\nm.")

    /// Steps through the chats `query` selects, in order, handing `row` each one's rowid and
    /// revision.
    private func chatKeys(_ query: ChatQuery, on reader: SQLiteConnection, _ row: (_ rowid: Int, _ revision: Int) -> Void) throws
        -> PagePosition
    {
        var filter = SQLFilter("c.organization_id = ?", .text(query.organizationId))
        if let channel = query.channel { filter.add("c.channel = ?", .text(channel)) }
        if let account = query.accountId { filter.add("c.account_id = ?", .text(account)) }
        if query.unreadOnly { filter.add("c.unread_count > 0") }
        let window = try PageWindow(query.paging, limit: query.limit, filter: filter, table: "chats c", on: reader) { parts in
            guard parts.count == 3, let time = Double(parts[0]) else { return nil }
            return (
                "(c.last_activity < ? OR (c.last_activity = ? AND (c.account_id < ? OR (c.account_id = ? AND c.chat_id < ?))))",
                [.double(time), .double(time), .text(parts[1]), .text(parts[1]), .text(parts[2])]
            )
        }
        let statement = try reader.prepare("""
            SELECT c.rowid, c.revision, c.last_activity, c.account_id, c.chat_id FROM chats c
            WHERE \(window.filter.sql)
            ORDER BY c.last_activity DESC, c.account_id DESC, c.chat_id DESC LIMIT ? OFFSET ?
            """)
        statement.bind(window.filter.values + [.int(query.limit + 1), .int(window.offset)])
        var count = 0
        var lastKey: [String] = []
        while try statement.step(), count < query.limit {
            row(statement.int(0) ?? 0, statement.int(1) ?? 0)
            count += 1
            // Only a full page's last row can start the next page.
            if count == query.limit {
                lastKey = [String(statement.double(2) ?? 0), statement.string(3) ?? "", statement.string(4) ?? ""]
            }
        }
        return window.position(count: count, lastKey: lastKey, hasMore: try Self.stepped(statement))
    }

    // MARK: Both

    // The full rows come in the keys' order without an ORDER BY (which would sort every column
    // of every row): CROSS JOIN keeps json_each, which reads the array in order, the outer loop.
    // `next` checks each row is the one expected.

    /// Runs `sql` (full rows, the key in column 0, in the order of the keys bound as one JSON
    /// array) for `keys`, handing each row to `row`.
    private static func rows(_ sql: String, keys: [Int], on reader: SQLiteConnection, _ row: (SQLiteStatement) -> Void) throws {
        let statement = try start(sql, keys: keys, on: reader)
        defer { statement?.reset() }
        for key in keys {
            try row(next(statement, key: key))
        }
    }

    /// Writes the page as a JSON array: kept JSON copied, the other rows read with `missing`
    /// (as `rows`), written by `writeRow` and kept in `cache`.
    private static func write(
        _ listed: [ListedRow], keeping cache: RowJSONCache, into writer: inout JSONWriter,
        missing sql: String, on reader: SQLiteConnection, _ writeRow: (SQLiteStatement, inout JSONWriter) -> Void
    ) throws {
        let statement = try start(sql, keys: listed.compactMap { $0.json == nil ? $0.key : nil }, on: reader)
        defer { statement?.reset() }
        writer.openArray()
        for row in listed {
            writer.nextElement()
            if let json = row.json {
                writer.raw(json)
                continue
            }
            let start = writer.byteCount
            writeRow(try next(statement, key: row.key), &writer)
            if cache.byteLimit > 0 {
                cache.keep(writer.bytes(from: start), key: row.key, revision: row.revision, identity: row.identity)
            }
        }
        writer.closeArray()
    }

    /// `sql` prepared with `keys` bound as one JSON array; nil when there are none.
    private static func start(_ sql: String, keys: [Int], on reader: SQLiteConnection) throws -> SQLiteStatement? {
        guard !keys.isEmpty else { return nil }
        let statement = try reader.prepare(sql)
        statement.bind([.text("[" + keys.map(String.init).joined(separator: ",") + "]")])
        return statement
    }

    /// Steps to the full row of `key`, which the keys step listed in the same read transaction.
    private static func next(_ statement: SQLiteStatement?, key: Int) throws -> SQLiteStatement {
        guard let statement, try statement.step(), statement.int(0) == key else {
            throw SQLiteError(code: SQLITE_INTERNAL, message: "listed row \(key) missing from its full rows")
        }
        return statement
    }
}
