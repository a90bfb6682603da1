import CSQLite
import Foundation
import GatewayModel

/// The messages and chats listings of the embedded store, in two steps within one read
/// transaction: the page's keys (a row's key, revision, id and sort key, in order), then, in one
/// statement and in the same order, the full rows of only those keys that are needed — for JSON,
/// the rows whose JSON is not kept for their revision in `messageCache` / `chatCache`
/// (see `RowJSONCache`).
extension SQLiteStore {
    /// How a keys step hands over each row of a page, in order: its key (seq or rowid), its
    /// revision, and what tells apart rows that may share both (a message's id).
    private typealias ListedKey = (_ key: Int, _ revision: Int, _ identity: UnsafeBufferPointer<UInt8>?) -> Void

    /// One row of a page: its key, revision and identity, and its JSON when kept for that revision.
    private struct ListedRow {
        var key: Int
        var revision: Int
        var identity: [UInt8]?
        var json: [UInt8]?
    }

    // MARK: Messages

    public func messages(_ query: MessageQuery) async throws -> Page<Message> {
        try readPage(limit: query.limit, keys: { try messageKeys(query, on: $0, $1) }, rows: Self.messagesBySeq) {
            Self.message(from: $0)
        }
    }

    public func writeMessages(_ query: MessageQuery, into writer: inout JSONWriter) async throws -> PagePosition {
        try writePage(into: &writer, limit: query.limit, keys: { try messageKeys(query, on: $0, $1) }, rows: Self.messagesBySeq,
                      cache: messageCache) { Self.writeMessage(from: $0, into: &$1) }
    }

    /// Full rows (`messageColumns`) of the messages whose seqs are in the JSON array bound to it,
    /// in its order.
    private static let messagesBySeq =
        "SELECT \(prefixedMessageColumns) FROM json_each(?) k CROSS JOIN messages m ON m.seq = k.value"

    /// Steps through the messages `query` selects, in order, handing `row` each one's seq,
    /// revision and id.
    private func messageKeys(_ query: MessageQuery, on reader: SQLiteConnection, _ row: ListedKey) throws -> PagePosition {
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
        if let pattern = query.searchPattern { filter.add("text LIKE ? ESCAPE '\\'", .text(pattern)) }
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
        try readPage(limit: query.limit, keys: { try chatKeys(query, on: $0, $1) }, rows: Self.chatsByRowid) { row in
            Chat(
                organizationId: row.string(3) ?? "", channel: row.string(4) ?? "",
                accountId: row.string(1) ?? "", chatId: row.string(2) ?? "",
                kind: row.string(5).flatMap(ChatKind.init(rawValue:)) ?? .user, title: row.string(6),
                unreadCount: row.int(7) ?? 0, lastMessage: row.string(10) == nil ? nil : Self.message(from: row, at: 9),
                lastActivity: row.double(8).map(Date.init(timeIntervalSince1970:)))
        }
    }

    public func writeChats(_ query: ChatQuery, into writer: inout JSONWriter) async throws -> PagePosition {
        try writePage(into: &writer, limit: query.limit, keys: { try chatKeys(query, on: $0, $1) }, rows: Self.chatsByRowid,
                      cache: chatCache) { Self.writeChat(from: $0, at: 1, into: &$1) }
    }

    /// Full rows of the chats whose rowids are in the JSON array bound to it, in its order: the
    /// rowid, the chat's columns from column 1, its last message's from column 9.
    private static let chatsByRowid = """
        SELECT c.rowid, c.account_id, c.chat_id, c.organization_id, c.channel, c.kind, c.title, c.unread_count,
            c.last_activity, \(prefixedMessageColumns)
        FROM json_each(?) k CROSS JOIN chats c ON c.rowid = k.value
        LEFT JOIN messages m ON m.seq = c.last_message_seq AND m.id = c.last_message_id
        """

    /// The message columns prefixed `m.`, for the full-row statements (built once, not per request).
    private static let prefixedMessageColumns =
        "m." + messageColumns.replacingOccurrences(of: ", ", with: ", m.").replacingOccurrences(of: ",\n", with: ",\nm.")

    /// Steps through the chats `query` selects, in order, handing `row` each one's rowid and
    /// revision (no identity: a chat's revision is never reused).
    private func chatKeys(_ query: ChatQuery, on reader: SQLiteConnection, _ row: ListedKey) throws -> PagePosition {
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
            row(statement.int(0) ?? 0, statement.int(1) ?? 0, nil)
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

    /// The model values of a page: its keys, then every row read with `rows`, made by `item`.
    private func readPage<Item: Sendable>(
        limit: Int, keys: (SQLiteConnection, ListedKey) throws -> PagePosition, rows sql: String,
        _ item: (SQLiteStatement) -> Item
    ) throws -> Page<Item> {
        try read { reader in
            try reader.readTransaction {
                var listed: [Int] = []
                listed.reserveCapacity(limit)
                let position = try keys(reader) { key, _, _ in listed.append(key) }
                let statement = try Self.start(sql, keys: listed, on: reader)
                defer { statement?.reset() }
                let items = try listed.map { try item(Self.next(statement, key: $0)) }
                return Page(items: items, position)
            }
        }
    }

    /// A page as a JSON array: its keys, then the JSON kept in `cache` for a row's revision (and
    /// identity) copied, the other rows read with `rows` in one statement, written by `writeRow`
    /// and kept.
    private func writePage(
        into writer: inout JSONWriter, limit: Int, keys: (SQLiteConnection, ListedKey) throws -> PagePosition, rows sql: String,
        cache: RowJSONCache, _ writeRow: (SQLiteStatement, inout JSONWriter) -> Void
    ) throws -> PagePosition {
        let keeping = cache.byteLimit > 0
        return try read { reader in
            try reader.readTransaction {
                var listed: [ListedRow] = []
                listed.reserveCapacity(limit)
                let position = try keys(reader) { key, revision, identity in
                    let json = cache.json(key: key, revision: revision, identity: identity)
                    let kept = json == nil && keeping ? identity.map(Array.init) : nil
                    listed.append(ListedRow(key: key, revision: revision, identity: kept, json: json))
                }
                let statement = try Self.start(sql, keys: listed.compactMap { $0.json == nil ? $0.key : nil }, on: reader)
                defer { statement?.reset() }
                writer.openArray()
                for row in listed {
                    writer.nextElement()
                    if let json = row.json {
                        writer.raw(json)
                        continue
                    }
                    let start = writer.byteCount
                    writeRow(try Self.next(statement, key: row.key), &writer)
                    if keeping {
                        cache.keep(writer.bytes(from: start), key: row.key, revision: row.revision, identity: row.identity)
                    }
                }
                writer.closeArray()
                return position
            }
        }
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
