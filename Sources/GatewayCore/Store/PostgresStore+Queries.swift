import Foundation
import GatewayModel
import PostgresNIO

/// WHERE conditions and the values they bind (`?` placeholders), in order.
struct PGFilter {
    private(set) var conditions: [String] = []
    private(set) var values: [PGValue] = []

    init(_ condition: String, _ values: PGValue...) {
        add(condition, values: values)
    }

    mutating func add(_ condition: String, _ values: PGValue...) {
        add(condition, values: values)
    }

    mutating func add(_ condition: String, values newValues: [PGValue]) {
        conditions.append(condition)
        values += newValues
    }

    var sql: String { conditions.joined(separator: " AND ") }
}

/// Read side of the PostgreSQL store (pooled connections). Order, cursors and page totals are
/// those of the SQLite store (StoreQueries.swift's `Cursor` encodes both).
extension PostgresStore {
    /// Where a listing page starts: after a cursor or at a page number's offset (with the total).
    struct Window {
        var filter: PGFilter
        var offset = 0
        var total: Int?

        init(
            _ paging: PageRequest, limit: Int, filter: PGFilter, table: String, on connection: PostgresConnection, logger: Logger,
            after: ([String]) -> (String, [PGValue])?
        ) async throws {
            self.filter = filter
            switch paging {
            case .cursor(nil):
                break
            case .cursor(let cursor?):
                guard let parts = Cursor.decode(cursor), let (condition, values) = after(parts) else {
                    throw InvalidQuery(field: "cursor", message: "cursor is not one this server issued")
                }
                self.filter.add(condition, values: values)
            case .page(let page):
                offset = (page - 1) * limit
                total = try await connection.rows("SELECT COUNT(*) FROM \(table) WHERE \(filter.sql)", filter.values, logger: logger)
                    .first?.int(0) ?? 0
            }
        }

        func page<Item>(_ items: [Item], lastKey: [String], hasMore: Bool) -> Page<Item> {
            let next = hasMore && total == nil && !lastKey.isEmpty ? Cursor.encode(lastKey) : nil
            return Page(items: items, nextCursor: next, total: total, hasMore: hasMore)
        }
    }

    public func account(id: String) async throws -> Account? {
        try await withConnection { [logger] connection in
            try await connection.rows("SELECT \(Self.accountColumns) FROM accounts WHERE id = ?", [.text(id)], logger: logger)
                .first.map(Self.account(from:))
        }
    }

    public func accounts(organizationId: String) async throws -> [Account] {
        try await withConnection { [logger] connection in
            try await connection.rows(
                "SELECT \(Self.accountColumns) FROM accounts WHERE organization_id = ? ORDER BY created_at DESC, id",
                [.text(organizationId)], logger: logger
            ).map(Self.account(from:))
        }
    }

    public func message(id: UUID, organizationId: String) async throws -> Message? {
        try await withConnection { [self] connection in
            let message = try await storedMessage(id: id, on: connection)
            return message?.organizationId == organizationId ? message : nil
        }
    }

    public func messages(_ query: MessageQuery) async throws -> Page<Message> {
        var filter = PGFilter("organization_id = ?", .text(query.organizationId))
        if let channel = query.channel { filter.add("channel = ?", .text(channel)) }
        if let account = query.accountId { filter.add("account_id = ?", .text(account)) }
        if let chat = query.chatId { filter.add("chat_id = ?", .text(chat)) }
        if let contact = query.contactId { filter.add("contact_id = ?", .text(contact)) }
        if let direction = query.direction { filter.add("direction = ?", .text(direction.rawValue)) }
        if let status = query.status { filter.add("status = ?", .text(status.rawValue)) }
        if let unread = query.unread { filter.add("is_read = ?", .bool(!unread)) }
        if let from = query.from { filter.add("created_at >= ?", .date(from)) }
        if let to = query.to { filter.add("created_at <= ?", .date(to)) }
        // SQLite's LIKE ignores ASCII case: ILIKE does too (and beyond ASCII).
        if let pattern = query.searchPattern { filter.add("text ILIKE ? ESCAPE '\\'", .text(pattern)) }
        return try await withConnection { [logger, filter] connection in
            let window = try await Window(
                query.paging, limit: query.limit, filter: filter, table: "messages", on: connection, logger: logger
            ) { parts in
                guard parts.count == 2, let time = Double(parts[0]), let seq = Int(parts[1]) else { return nil }
                return ("(created_at < ? OR (created_at = ? AND seq < ?))", [.double(time), .double(time), .int(seq)])
            }
            let rows = try await connection.rows("""
                SELECT \(Self.messageColumns) FROM messages WHERE \(window.filter.sql)
                ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?
                """, window.filter.values + [.int(query.limit + 1), .int(window.offset)], logger: logger)
            let shown = rows.prefix(query.limit)
            let items = shown.map { Self.message(from: $0) }
            let lastKey = shown.last.map { [String($0.double(19) ?? 0), String($0.int(0) ?? 0)] } ?? []
            return window.page(items, lastKey: lastKey, hasMore: rows.count > query.limit)
        }
    }

    public func chats(_ query: ChatQuery) async throws -> Page<Chat> {
        var filter = PGFilter("c.organization_id = ?", .text(query.organizationId))
        if let channel = query.channel { filter.add("c.channel = ?", .text(channel)) }
        if let account = query.accountId { filter.add("c.account_id = ?", .text(account)) }
        if query.unreadOnly { filter.add("c.unread_count > 0") }
        let messageColumns = "m." + Self.messageColumns
            .components(separatedBy: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .joined(separator: ", m.")
        return try await withConnection { [logger, filter] connection in
            let window = try await Window(
                query.paging, limit: query.limit, filter: filter, table: "chats c", on: connection, logger: logger
            ) { parts in
                guard parts.count == 3, let time = Double(parts[0]) else { return nil }
                return (
                    "(c.last_activity < ? OR (c.last_activity = ? AND (c.account_id < ? OR (c.account_id = ? AND c.chat_id < ?))))",
                    [.double(time), .double(time), .text(parts[1]), .text(parts[1]), .text(parts[2])]
                )
            }
            let rows = try await connection.rows("""
                SELECT c.account_id, c.chat_id, c.organization_id, c.channel, c.kind, c.title, c.unread_count,
                    c.last_activity, \(messageColumns)
                FROM chats c LEFT JOIN messages m ON m.id = c.last_message_id
                WHERE \(window.filter.sql)
                ORDER BY c.last_activity DESC, c.account_id DESC, c.chat_id DESC LIMIT ? OFFSET ?
                """, window.filter.values + [.int(query.limit + 1), .int(window.offset)], logger: logger)
            let items = rows.prefix(query.limit).map { row in
                let lastMessage = row.string(9) == nil ? nil : Self.message(from: row, at: 8)
                return Chat(
                    organizationId: row.string(2) ?? "", channel: row.string(3) ?? "",
                    accountId: row.string(0) ?? "", chatId: row.string(1) ?? "",
                    kind: row.string(4).flatMap(ChatKind.init(rawValue:)) ?? .user, title: row.string(5),
                    unreadCount: row.int(6) ?? 0, lastMessage: lastMessage,
                    lastActivity: row.double(7).map(Date.init(timeIntervalSince1970:)))
            }
            let lastKey = items.last.map { [String($0.lastActivity?.timeIntervalSince1970 ?? 0), $0.accountId, $0.chatId] } ?? []
            return window.page(Array(items), lastKey: lastKey, hasMore: rows.count > query.limit)
        }
    }

    public func chatExists(organizationId: String, chatId: String) async throws -> Bool {
        try await withConnection { [logger] connection in
            try await !connection.rows(
                "SELECT 1 FROM messages WHERE organization_id = ? AND chat_id = ? LIMIT 1",
                [.text(organizationId), .text(chatId)], logger: logger
            ).isEmpty
        }
    }

    public func messagingStats(organizationId: String, from: Date, to: Date) async throws -> MessagingStats {
        let range: [PGValue] = [.text(organizationId), .date(from), .date(to)]
        let scope = "organization_id = ? AND created_at >= ? AND created_at <= ?"
        return try await withConnection { [logger] connection in
            func grouped(_ column: String) async throws -> [String: Int] {
                var counts: [String: Int] = [:]
                for row in try await connection.rows(
                    "SELECT \(column), COUNT(*) FROM messages WHERE \(scope) GROUP BY \(column)", range, logger: logger)
                {
                    counts[row.string(0) ?? ""] = row.int(1) ?? 0
                }
                return counts
            }
            let byDirection = try await grouped("direction")
            let unread = try await connection.rows(
                "SELECT COUNT(*) FROM messages WHERE \(scope) AND NOT is_read AND direction = 'inbound'", range, logger: logger
            ).first?.int(0) ?? 0
            // Days in UTC, like SQLite's date(created_at, 'unixepoch').
            let days = try await connection.rows("""
                SELECT to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, COUNT(*),
                    COUNT(*) FILTER (WHERE direction = 'inbound'), COUNT(*) FILTER (WHERE direction = 'outbound')
                FROM messages WHERE \(scope) GROUP BY day ORDER BY day
                """, range, logger: logger)
            let perDay = days.map {
                MessagingStats.Day(date: $0.string(0) ?? "", total: $0.int(1) ?? 0, inbound: $0.int(2) ?? 0, outbound: $0.int(3) ?? 0)
            }
            var directions = ["inbound": 0, "outbound": 0]
            directions.merge(byDirection) { _, new in new }
            return MessagingStats(
                from: from, to: to, total: byDirection.values.reduce(0, +), unread: unread, byChannel: try await grouped("channel"),
                byDirection: directions, byStatus: try await grouped("status"), perDay: perDay)
        }
    }

    // MARK: - Webhook failures

    public func recordWebhookFailure(_ failure: WebhookFailure) async throws {
        try await writeQueue.run { try await recordWebhookFailureNow(failure) }
    }

    private func recordWebhookFailureNow(_ failure: WebhookFailure) async throws {
        try await withConnection(limit: writeTimeout) { [logger] connection in
            _ = try await connection.rows("""
                INSERT INTO webhook_failures (id, organization_id, url, secret, event_id, event_type, body, attempts,
                    last_error, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?::integer, ?, ?)
                ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, url = excluded.url,
                    secret = excluded.secret, event_id = excluded.event_id, event_type = excluded.event_type,
                    body = excluded.body, attempts = excluded.attempts, last_error = excluded.last_error,
                    failed_at = excluded.failed_at
                """, [
                    .uuid(failure.id), .text(failure.organizationId), .text(failure.url), .text(failure.secret),
                    .uuid(failure.eventId), .text(failure.eventType), .bytes(failure.body), .int(failure.attempts),
                    .text(failure.lastError), .date(failure.failedAt),
                ], logger: logger)
        }
    }

    public func webhookFailures(organizationId: String) async throws -> [WebhookFailure] {
        try await withConnection { [logger] connection in
            try await connection.rows("""
                SELECT id, organization_id, url, secret, event_id, event_type, body, attempts, last_error, failed_at
                FROM webhook_failures WHERE organization_id = ? ORDER BY failed_at DESC LIMIT 1000
                """, [.text(organizationId)], logger: logger
            ).map { row in
                WebhookFailure(
                    id: row.string(0).flatMap(UUID.init(uuidString:)) ?? UUID(), organizationId: row.string(1) ?? "",
                    url: row.string(2) ?? "", secret: row.string(3),
                    eventId: row.string(4).flatMap(UUID.init(uuidString:)) ?? UUID(), eventType: row.string(5) ?? "",
                    body: row.data(6) ?? Data(), attempts: row.int(7) ?? 0, lastError: row.string(8) ?? "",
                    failedAt: Date(timeIntervalSince1970: row.double(9) ?? 0))
            }
        }
    }

    public func removeWebhookFailure(id: UUID, organizationId: String) async throws -> WebhookFailure? {
        guard let failure = try await webhookFailures(organizationId: organizationId).first(where: { $0.id == id }) else {
            return nil
        }
        try await writeQueue.run {
            try await withConnection(limit: writeTimeout) { [logger] connection in
                _ = try await connection.rows("DELETE FROM webhook_failures WHERE id = ?", [.uuid(id)], logger: logger)
            }
        }
        return failure
    }
}
