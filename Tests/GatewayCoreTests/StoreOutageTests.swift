import Foundation
import GatewayModel
import PostgresNIO
import Synchronization
import Testing

@testable import GatewayCore

/// The PostgreSQL server goes away in the middle of an ingest stream and comes back: the
/// pipeline keeps the events and retries, so every message is stored exactly once.
@Suite(.serialized) struct StoreOutageTests {
    static let chunks = 40
    static let chunkSize = 250

    /// The store's side: a write on a connection the shutdown closed fails with `StoreUnavailable`
    /// (never as a data error; whether one does depends on timing), writes asked for while the
    /// server is down wait in postgres-nio's pool, and writing works again right after the restart.
    @Test(.timeLimit(.minutes(2))) func writesDuringARestartFailAsUnavailableAndResumeAfterIt() async throws {
        let server = try TestPostgres.dedicated()
        let store = try await PostgresStore(url: try server.createDatabase(), logger: testLogger)
        try await store.migrate()
        let outcomes = Mutex<(stored: Int, unavailable: Int, other: [String])>((0, 0, []))
        let writer = Task {
            for index in 0..<2_000 where !Task.isCancelled {
                let account = Account(id: "a\(index)", organizationId: "o", platform: "loopback", status: .connected, createdAt: Date())
                do {
                    _ = try await store.write([.upsertAccount(account)])
                    outcomes.withLock { $0.stored += 1 }
                } catch is StoreUnavailable {
                    outcomes.withLock { $0.unavailable += 1 }
                } catch {
                    outcomes.withLock { $0.other.append("\(error)") }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        try await Task.sleep(for: .seconds(1))
        try server.stop(mode: "fast")
        try await Task.sleep(for: .seconds(3))
        let storedBeforeRestart = outcomes.withLock { $0.stored }
        try server.start()
        let resumed = try await eventually(timeout: .seconds(30)) { outcomes.withLock { $0.stored } >= storedBeforeRestart + 20 }
        writer.cancel()
        await writer.value
        let final = outcomes.withLock { $0 }
        #expect(resumed, "writes did not resume within 30 s of the restart: \(final)")
        #expect(final.other.isEmpty, "an outage was reported as a data error: \(final.other)")
        await store.close()
    }

    /// postgres-nio 1.33.2 never answers a statement issued on a connection the server has
    /// already closed (here another session ends ours between two statements of a transaction, as
    /// a shutdown does): the store gives the transaction up as `StoreUnavailable` instead of
    /// waiting for ever, and the write queue and the pool serve the next write at once.
    @Test(.timeLimit(.minutes(1))) func aStatementOnAConnectionTheServerClosedFailsAsUnavailable() async throws {
        let store = try await PostgresStore(url: try TestPostgres.server().createDatabase(), logger: testLogger)
        try await store.migrate()
        let started = ContinuousClock.now
        await #expect(throws: StoreUnavailable.self) {
            try await store.writeQueue.run {
                try await store.withTransaction { connection in
                    let pid = try await connection.rows("SELECT pg_backend_pid()", logger: testLogger).first?.int(0) ?? 0
                    try await store.withConnection { other in
                        try await other.rows("SELECT pg_terminate_backend(?::integer)", [.int(pid)], logger: testLogger)
                    }
                    _ = try await eventually(timeout: .seconds(10)) { connection.isClosed }
                    try await connection.rows("SELECT 1", logger: testLogger)
                }
            }
        }
        #expect(started.duration(to: .now) < .seconds(15))
        let account = Account(id: "a1", organizationId: "o", platform: "loopback", status: .connected, createdAt: Date())
        #expect(try await store.write([.upsertAccount(account)]).count == 1)
        await store.close()
    }

    /// A write that holds its connection longer than `write_timeout` is given up as
    /// `StoreUnavailable` (its connection closed, so the server rolls it back) and frees the
    /// write queue for the next one.
    @Test(.timeLimit(.minutes(1))) func aWriteLongerThanWriteTimeoutIsAbandoned() async throws {
        let store = try await PostgresStore(url: try TestPostgres.server().createDatabase() + "&write_timeout=1", logger: testLogger)
        try await store.migrate()
        #expect(store.writeTimeout == .seconds(1))
        let account = Account(id: "a1", organizationId: "o", platform: "loopback", status: .connected, createdAt: Date())
        let started = ContinuousClock.now
        let stuck = Task {
            try await store.writeQueue.run {
                try await store.withTransaction { connection in
                    try await connection.rows("SELECT pg_sleep(30)", logger: testLogger)
                }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        // Queued behind the stuck one: it runs once that is abandoned.
        #expect(try await store.write([.upsertAccount(account)]).count == 1)
        await #expect(throws: StoreUnavailable.self) { try await stuck.value }
        #expect(started.duration(to: .now) < .seconds(10))
        await store.close()
    }

    /// The gateway's side: the plugin keeps emitting through a fast shutdown and a restart. The
    /// batch on a connection at the shutdown fails; the `ROLLBACK` postgres-nio then sends on the
    /// closed connection, or the next statement when the shutdown lands between two, is never
    /// answered: the store gives it up as `StoreUnavailable` (PostgresConnectionWatch.swift) and
    /// the pipeline retries the batch.
    @Test(.timeLimit(.minutes(3)))
    func everyMessageIsStoredOnceAcrossAPostgresRestart() async throws {
        // A server of its own: the shared one serves suites running in parallel.
        let server = try TestPostgres.dedicated()
        let url = try server.createDatabase()
        var config = GatewayConfig()
        config.storage.backend = .postgres(url: url)
        config.plugins = [TestGateway.loopback]
        var logger = testLogger
        logger.logLevel = ProcessInfo.processInfo.environment["OUTAGE_LOG"].map { Logger.Level(rawValue: $0) ?? .info } ?? .critical
        let gateway = try await Gateway(config: config, logger: logger)
        await gateway.start()
        gateway.pipeline.submit(.accountStatus(AccountStatusUpdate(accountId: "acc-1", status: .connected, organizationId: "org-1")),
                                channel: "loopback")
        await gateway.pipeline.flush()

        var sawUnavailable = false
        var stopped: ContinuousClock.Instant?
        var outage: Duration = .zero
        for chunk in 0..<Self.chunks {
            // A batch asked for while the server is down waits in the pool without an error, so
            // the pipeline (and /health) would hear of the outage only if a batch is on a
            // connection at the shutdown: a session of the test holds `chats` so that chunk 10's
            // batch is (it waits at its chats upsert).
            let blocker = chunk == 10 ? try await lockChats(url) : nil
            let reply = try await invoke(gateway, [
                "op": "emit", "accountId": "acc-1", "count": .number(Double(Self.chunkSize)), "chats": 5,
                "start": .number(Double(chunk * Self.chunkSize)),
            ])
            #expect(reply["emitted"]?.intValue == Self.chunkSize)
            switch chunk {
            case 10:
                // Mid-stream the server shuts down (sessions get 57P01, new connections are
                // refused) while the plugin keeps emitting; it comes back after chunk 19.
                let blocked = try await eventually { try await Self.waitsForChats(blocker) }
                #expect(blocked, "chunk 10's batch never reached the locked table")
                stopped = .now
                try server.stop(mode: "fast")
                try? await blocker?.close()
            case 11..<20:
                try await Task.sleep(for: .milliseconds(300))
                let health = await withTimeout(.seconds(1)) { await gateway.health() }
                if let health, health.status == "degraded", health.store.status == "unavailable" { sawUnavailable = true }
                if chunk == 19 {
                    try server.start()
                    outage = stopped.map { $0.duration(to: .now) } ?? .zero
                }
            default:
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let drained = await withTimeout(.seconds(40)) { await gateway.pipeline.flush() } != nil
        #expect(drained, "the pipeline did not drain within 40 s of the last chunk")
        #expect(sawUnavailable, "/health did not report the store unavailable during the outage")
        #expect(outage > .seconds(2))

        let total = Self.chunks * Self.chunkSize
        let counts = try await countStored(gateway.store)
        #expect(counts.rows == total, "stored \(counts.rows) of \(total)")
        #expect(counts.distinct == total, "\(counts.distinct) distinct external ids of \(total)")
        let health = await gateway.health()
        #expect(health.store.status == "ok", "after recovery: \(health.store)")
        await gateway.stop()
    }

    /// A session that holds `chats` in SHARE mode until the server stops: writes to it wait.
    private func lockChats(_ url: String) async throws -> PostgresConnection {
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresSettings(url: url).connectionConfiguration(), id: 99, logger: testLogger)
        try await connection.rows("BEGIN", logger: testLogger)
        try await connection.rows("LOCK TABLE chats IN SHARE MODE", logger: testLogger)
        return connection
    }

    /// Whether a session waits for `chats` (pg_locks is live; pg_stat_activity would be a snapshot
    /// taken at its first read in the holder's transaction).
    private static func waitsForChats(_ connection: PostgresConnection?) async throws -> Bool {
        guard let connection else { return false }
        let row = try await connection.rows(
            "SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND relation = 'chats'::regclass", logger: testLogger).first
        return (row?.int(0) ?? 0) > 0
    }

    private func invoke(_ gateway: Gateway, _ request: JSONValue) async throws -> JSONValue {
        let reply = try await gateway.plugins.invoke(platform: "loopback", request: try JSONEncoder().encode(request))
        return try JSONDecoder().decode(JSONValue.self, from: reply)
    }

    private func countStored(_ store: any GatewayStore) async throws -> (rows: Int, distinct: Int) {
        let store = try #require(store as? PostgresStore)
        return try await store.withConnection { connection in
            let row = try await connection.rows(
                "SELECT COUNT(*), COUNT(DISTINCT external_id) FROM messages WHERE account_id = 'acc-1'", logger: testLogger
            ).first
            return (row?.int(0) ?? -1, row?.int(1) ?? -1)
        }
    }
}

/// `body`'s result, or nil when it took longer than `limit` (a late body is left to finish).
func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
    let once = ResumeOnce<T?>()
    return await withCheckedContinuation { continuation in
        once.continuation.withLock { $0 = continuation }
        Task { once.resume(await body()) }
        Task {
            try? await Task.sleep(for: limit)
            once.resume(nil)
        }
    }
}

/// A continuation resumed by whichever caller comes first.
final class ResumeOnce<T: Sendable>: Sendable {
    let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)
    func resume(_ value: T) { continuation.withLock { $0.take() }?.resume(returning: value) }
}
