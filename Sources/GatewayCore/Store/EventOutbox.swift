import Foundation
import GatewayModel

/// An event to put in the `event_outbox` table in the same transaction as a store batch, so it
/// is published to RabbitMQ at least once even if the broker or the gateway is down meanwhile.
public struct OutboxEntry: Sendable {
    public enum Source: Sendable {
        /// An event known before the write (not stored itself, e.g. a route without `store`).
        case event(GatewayEvent)
        /// The event the write at this index of the batch produced, if any: `make` gets that
        /// write's result and returns nil when there is nothing to announce (a duplicate).
        case resultOf(write: Int, make: @Sendable (StoreWriteResult) -> GatewayEvent?)
    }

    public var source: Source
    /// One outbox row (one message) per routing key.
    public var routingKeys: [String]

    public init(_ source: Source, routingKeys: [String]) {
        self.source = source
        self.routingKeys = routingKeys
    }

    /// The rows this entry becomes once the batch's results are known.
    func rows(results: [StoreWriteResult]) -> [NewOutboxRow] {
        let event: GatewayEvent?
        switch source {
        case .event(let known): event = known
        case .resultOf(let index, let make): event = results.indices.contains(index) ? make(results[index]) : nil
        }
        guard let event, !routingKeys.isEmpty else { return [] }
        var writer = JSONWriter(capacity: 1024)
        writer.write(event)
        return routingKeys.map {
            NewOutboxRow(
                eventId: event.id.lowercasedString, eventType: event.type.rawValue, organizationId: event.organizationId,
                routingKey: $0, payload: writer.bytes)
        }
    }
}

/// A row about to be inserted (the store assigns its sequence and creation time).
struct NewOutboxRow {
    var eventId: String
    var eventType: String
    var organizationId: String
    var routingKey: String
    var payload: [UInt8]
}

/// One message waiting in the outbox. `sequence` orders the outbox (insertion order, which is
/// commit order of the batches: SQLite has one writer, PostgreSQL batches commit one at a time).
public struct OutboxRow: Sendable, Equatable {
    public var sequence: Int64
    public var eventId: String
    public var eventType: String
    public var organizationId: String
    public var routingKey: String
    /// The event's JSON, exactly as the hub and webhooks see it.
    public var payload: [UInt8]
    public var createdAt: Double

    public init(
        sequence: Int64, eventId: String, eventType: String, organizationId: String, routingKey: String, payload: [UInt8],
        createdAt: Double
    ) {
        self.sequence = sequence
        self.eventId = eventId
        self.eventType = eventType
        self.organizationId = organizationId
        self.routingKey = routingKey
        self.payload = payload
        self.createdAt = createdAt
    }
}

/// The transactional outbox of events bound for RabbitMQ (implemented by both stores).
public protocol EventOutboxStore: Sendable {
    /// `write(batch)` plus the outbox rows of `outbox`, in one transaction.
    func write(_ batch: [StoreWrite], outbox: [OutboxEntry]) async throws -> [StoreWriteResult]
    /// The oldest `limit` rows, in sequence order.
    func outboxRows(limit: Int) async throws -> [OutboxRow]
    /// Removes published rows.
    func deleteOutboxRows(sequences: [Int64]) async throws
    /// Rows waiting.
    func outboxCount() async throws -> Int
    /// Publishing with several gateways on one database: runs `publish` with the oldest rows
    /// while this instance holds the outbox (nil: another instance is publishing now), and
    /// deletes the sequences `publish` returns before letting go. Returns the rows handed over
    /// (0 when the outbox was empty), or nil when another instance holds it. `publish` escapes:
    /// PostgreSQL runs the transaction in a task it can stop waiting for (PostgresConnectionWatch).
    func drainOutbox(limit: Int, publish: @escaping @Sendable ([OutboxRow]) async throws -> [Int64]) async throws -> Int?
}

extension EventOutboxStore {
    /// One instance per database (SQLite): read, publish, delete.
    public func drainOutbox(limit: Int, publish: @escaping @Sendable ([OutboxRow]) async throws -> [Int64]) async throws -> Int? {
        let rows = try await outboxRows(limit: limit)
        guard !rows.isEmpty else { return 0 }
        let done = try await publish(rows)
        if !done.isEmpty { try await deleteOutboxRows(sequences: done) }
        return rows.count
    }
}
