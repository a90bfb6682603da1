import Foundation
import GatewayModel
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The PostgreSQL store (`storage.postgres.url`): the same protocol and the same behaviour as the
/// embedded SQLite store, for gateways that share one database.
///
/// - A `PostgresClient` (postgres-nio's connection pool, `pool_max` connections) serves batches
///   and queries; its `run()` lives in a task of the store, cancelled by `close()`.
/// - `init` first opens one plain connection to the server, so a bad URL, an unreachable server
///   or a refused login fails startup with a sentence naming it (a pool would only retry).
/// - Every call on a pooled connection is watched, so one postgres-nio never answers cannot hold
///   the caller (or the write queue) for ever: PostgresConnectionWatch.swift.
/// - Each `write` batch is one transaction; see PostgresStore+Writes.swift. Queries are in
///   PostgresStore+Queries.swift, plugin state (a synchronous protocol) in PostgresStateStore.swift.
public final class PostgresStore: GatewayStore, PluginStateStore, @unchecked Sendable {
    public let settings: PostgresSettings
    let client: PostgresClient
    let logger: Logger
    private let runTask: Task<Void, Never>
    let state: PostgresStateConnection
    let encoder = JSONEncoder()
    let writeQueue = AsyncFIFOLock()

    public init(url: String, logger: Logger) async throws {
        let settings = try PostgresSettings(url: url)
        self.settings = settings
        self.logger = logger
        // Probe: one connection with the pool's settings, so what is wrong is said now.
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try settings.connectionConfiguration(), id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw PostgresStoreError.describe(error, settings: settings)
        }
        let client = PostgresClient(configuration: settings.clientConfiguration(), backgroundLogger: logger)
        self.client = client
        runTask = Task { await client.run() }
        state = PostgresStateConnection(settings: settings, logger: logger)
    }

    /// Runs `body` on a pooled connection; errors become `PostgresStoreError`s, or
    /// `StoreUnavailable` when the server cannot be reached (PostgresStore+Availability.swift),
    /// when the connection closed under a statement postgres-nio never answers, or when `body`
    /// held the connection longer than `limit` (PostgresConnectionWatch.swift).
    func withConnection<T: Sendable>(
        limit: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await client.withConnection { connection in
                try await watching(connection, limit: limit) { try await body(connection) }
            }
        } catch let error as InvalidQuery {
            throw error
        } catch {
            throw Self.storeError(error, settings: settings)
        }
    }

    /// Runs `body` in a transaction on a pooled connection (committed when it returns), within
    /// `write_timeout`.
    func withTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection(limit: writeTimeout) { [logger] connection in
            try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// The longest a write may hold its connection (`write_timeout`).
    var writeTimeout: Duration { .seconds(settings.writeTimeoutSeconds) }

    /// Migrates on a connection of its own (a one-off at start, before the pool is needed).
    public func migrate() async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try settings.connectionConfiguration(), id: 2, logger: logger)
        } catch {
            throw PostgresStoreError.describe(error, settings: settings)
        }
        do {
            try await connection.withTransaction(logger: logger) { connection in try await migrate(on: connection) }
        } catch {
            try? await connection.close()
            throw PostgresStoreError.describe(error, settings: settings)
        }
        try? await connection.close()
    }

    private func migrate(on connection: PostgresConnection) async throws {
        // Serializes concurrent starts; released at commit.
        try await connection.rows("SELECT pg_advisory_xact_lock(?)", [.int(Int(PostgresSchema.advisoryLockKey))], logger: logger)
        try await connection.rows("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """, logger: logger)
        let applied = try await connection.rows("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger)
            .first?.int(0) ?? 0
        guard applied <= PostgresSchema.migrations.count else {
            throw PostgresStoreError(
                "PostgreSQL \(settings.redacted): the schema is at version \(applied), newer than this gateway's "
                    + "\(PostgresSchema.migrations.count); upgrade the gateway")
        }
        for (index, statements) in PostgresSchema.migrations.enumerated() where index >= applied {
            for statement in statements { try await connection.rows(statement, logger: logger) }
            try await connection.rows("INSERT INTO schema_migrations (version) VALUES (?)", [.int(index + 1)], logger: logger)
        }
    }

    /// How many migrations the database has applied.
    public func schemaVersion() async throws -> Int {
        try await withConnection { [logger] connection in
            try await connection.rows("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger).first?.int(0) ?? 0
        }
    }

    /// Batches commit one at a time, in the order they were asked for — as on SQLite's single
    /// writer. (Concurrent transactions would let a later write commit first: an account deleted
    /// by the API could come back with the status event its logout emitted just before.)
    public func write(_ batch: [StoreWrite]) async throws -> [StoreWriteResult] {
        try await writeQueue.run { try await withTransaction { [self] connection in try await apply(batch, on: connection) } }
    }

    public func stats() async throws -> StoreStats {
        try await withConnection { [logger] connection in
            let row = try await connection.rows(
                "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM chats), (SELECT COUNT(*) FROM accounts)",
                logger: logger
            ).first
            return StoreStats(backend: "postgres", messages: row?.int(0) ?? 0, chats: row?.int(1) ?? 0, accounts: row?.int(2) ?? 0)
        }
    }

    public func close() async {
        state.close()
        runTask.cancel()
        await runTask.value
    }
}

/// A lock for async code that hands itself over in the order it was asked for.
final class AsyncFIFOLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                guard state.locked else {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
        defer {
            let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard !state.waiters.isEmpty else {
                    state.locked = false
                    return nil
                }
                return state.waiters.removeFirst()
            }
            next?.resume()
        }
        return try await body()
    }
}
