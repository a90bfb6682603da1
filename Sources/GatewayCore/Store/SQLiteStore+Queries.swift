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
