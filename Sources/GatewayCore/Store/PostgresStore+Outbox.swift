import Foundation
import GatewayModel
import PostgresNIO

/// The event outbox on PostgreSQL. Rows are inserted in the batch's transaction. Several gateways
/// may share the database: the one that publishes holds a transaction-scoped advisory lock while
/// it reads, publishes and deletes a batch (`drainOutbox`), so two publishers never send the same
/// rows at once and the outbox is published in sequence order; the others find the lock taken and
/// try again later. A publisher that dies mid-batch loses its transaction: the lock is released and
/// the rows, never deleted, are published again by whoever takes it next (at least once).
extension PostgresStore {
    /// "cgoutbox" in ASCII: the advisory lock of the outbox's publisher.
    static let outboxLockKey = 0x6367_6F75_7462_6F78

    public func write(_ batch: [StoreWrite], outbox: [OutboxEntry]) async throws -> [StoreWriteResult] {
        try await writeQueue.run {
            try await withTransaction { [self] connection in
                let results = try await apply(batch, on: connection)
                try await insertOutbox(outbox.flatMap { $0.rows(results: results) }, on: connection)
                return results
            }
        }
    }

    /// One statement per 10,000 rows, from column arrays in batch order (so `seq` follows it).
    func insertOutbox(_ rows: [NewOutboxRow], on connection: PostgresConnection) async throws {
        var start = 0
        let now = Date().timeIntervalSince1970
        while start < rows.count {
            let chunk = rows[start..<min(start + Self.messageChunk, rows.count)]
            _ = try await connection.rows("""
                INSERT INTO event_outbox (event_id, event_type, organization_id, routing_key, payload, created_at)
                SELECT e, t, o, k, p, ?::double precision FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                    AS r(e, t, o, k, p)
                """, [
                    .double(now), .texts(chunk.map(\.eventId)), .texts(chunk.map(\.eventType)),
                    .texts(chunk.map(\.organizationId)), .texts(chunk.map(\.routingKey)),
                    .texts(chunk.map { String(decoding: $0.payload, as: UTF8.self) }),
                ], logger: logger)
            start += Self.messageChunk
        }
    }

    public func outboxRows(limit: Int) async throws -> [OutboxRow] {
        try await withConnection { [self] connection in try await outboxRows(limit: limit, on: connection) }
    }

    private func outboxRows(limit: Int, on connection: PostgresConnection) async throws -> [OutboxRow] {
        try await connection.rows("""
            SELECT seq, event_id, event_type, organization_id, routing_key, payload, created_at
            FROM event_outbox ORDER BY seq LIMIT ?::integer
            """, [.int(limit)], logger: logger
        ).map { row in
            OutboxRow(
                sequence: Int64(row.int(0) ?? 0), eventId: row.string(1) ?? "", eventType: row.string(2) ?? "",
                organizationId: row.string(3) ?? "", routingKey: row.string(4) ?? "",
                payload: Array((row.string(5) ?? "").utf8), createdAt: row.double(6) ?? 0)
        }
    }

    public func deleteOutboxRows(sequences: [Int64]) async throws {
        guard !sequences.isEmpty else { return }
        try await withConnection { [self] connection in try await deleteOutboxRows(sequences: sequences, on: connection) }
    }

    private func deleteOutboxRows(sequences: [Int64], on connection: PostgresConnection) async throws {
        _ = try await connection.rows(
            "DELETE FROM event_outbox WHERE seq = ANY(?::text[]::bigint[])", [.texts(sequences.map { String($0) })],
            logger: logger)
    }

    public func outboxCount() async throws -> Int {
        try await withConnection { [logger] connection in
            try await connection.rows("SELECT COUNT(*) FROM event_outbox", logger: logger).first?.int(0) ?? 0
        }
    }

    public func drainOutbox(limit: Int, publish: @escaping @Sendable ([OutboxRow]) async throws -> [Int64]) async throws -> Int? {
        // The publisher's own error (the broker's) comes out as itself, not as a store error.
        let publishError = PublishError()
        do {
            return try await withTransaction { [self, logger] connection in
                let held = try await connection.rows("SELECT pg_try_advisory_xact_lock(?)", [.int(Self.outboxLockKey)], logger: logger)
                    .first?.bool(0) ?? false
                guard held else { return nil }
                let rows = try await outboxRows(limit: limit, on: connection)
                guard !rows.isEmpty else { return 0 }
                let done: [Int64]
                do { done = try await publish(rows) } catch {
                    publishError.error = error
                    throw error
                }
                if !done.isEmpty { try await deleteOutboxRows(sequences: done, on: connection) }
                return rows.count
            }
        } catch {
            throw publishError.error ?? error
        }
    }

    private final class PublishError: @unchecked Sendable {
        var error: (any Error)?
    }
}
