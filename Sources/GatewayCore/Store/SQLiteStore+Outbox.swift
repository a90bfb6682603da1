import Foundation
import GatewayModel

/// The event outbox on SQLite: rows are inserted by the writer inside the batch's transaction;
/// one gateway owns a SQLite file, so publishing needs no claim (EventOutboxStore's default).
extension SQLiteStore {
    public func write(_ batch: [StoreWrite], outbox: [OutboxEntry]) async throws -> [StoreWriteResult] {
        try await onWriter { [self] in
            try writer.transaction {
                let results = try apply(batch)
                try insertOutbox(outbox.flatMap { $0.rows(results: results) })
                return results
            }
        }
    }

    func insertOutbox(_ rows: [NewOutboxRow]) throws {
        guard !rows.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        let statement = try writer.prepare("""
            INSERT INTO event_outbox (event_id, event_type, organization_id, routing_key, payload, created_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        for row in rows {
            statement.bind([
                .text(row.eventId), .text(row.eventType), .text(row.organizationId), .text(row.routingKey),
                .text(String(decoding: row.payload, as: UTF8.self)), .double(now),
            ])
            try statement.run()
        }
    }

    public func outboxRows(limit: Int) async throws -> [OutboxRow] {
        try read { reader in
            let statement = try reader.prepare("""
                SELECT seq, event_id, event_type, organization_id, routing_key, payload, created_at
                FROM event_outbox ORDER BY seq LIMIT ?
                """)
            defer { statement.reset() }
            statement.bind(1, limit)
            var rows: [OutboxRow] = []
            while try statement.step() {
                rows.append(OutboxRow(
                    sequence: Int64(statement.int(0) ?? 0), eventId: statement.string(1) ?? "",
                    eventType: statement.string(2) ?? "", organizationId: statement.string(3) ?? "",
                    routingKey: statement.string(4) ?? "", payload: Array((statement.string(5) ?? "").utf8),
                    createdAt: statement.double(6) ?? 0))
            }
            return rows
        }
    }

    public func deleteOutboxRows(sequences: [Int64]) async throws {
        guard !sequences.isEmpty else { return }
        try await onWriter { [self] in
            try writer.transaction {
                let statement = try writer.prepare("DELETE FROM event_outbox WHERE seq = ?")
                for sequence in sequences {
                    statement.bind(1, Int(sequence))
                    try statement.run()
                }
            }
        }
    }

    public func outboxCount() async throws -> Int {
        try read { reader in
            let statement = try reader.prepare("SELECT COUNT(*) FROM event_outbox")
            defer { statement.reset() }
            return try statement.step() ? statement.int(0) ?? 0 : 0
        }
    }
}
