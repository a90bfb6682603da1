import CSQLite
import Foundation
import GatewayCore
import GatewayModel

/// The physical-limit reference: the same message rows inserted straight into the gateway's own
/// schema with one prepared statement, in transactions of `batchSize`, no pipeline around it.
struct RawSQLiteBenchmark {
    let rows: Int
    let batchSize: Int

    /// Rows per second for `rows` inserts into a store already holding `prefill` rows.
    func run(prefill: Int) async throws -> Double {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-raw-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("raw.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()

        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw BenchError("cannot open \(path)") }
        defer { sqlite3_close(db) }
        sqlite3_exec(db, SQLiteStore.connectionPragmas, nil, nil, nil)
        var statement: OpaquePointer?
        let sql = """
            INSERT INTO messages (id, organization_id, channel, account_id, chat_id, external_id, direction,
                contact_id, contact_name, text, status, is_read, created_at, sent_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (account_id, chat_id, external_id) DO NOTHING
            """
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else { throw BenchError("prepare failed") }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        func bind(_ index: Int32, _ text: String) {
            sqlite3_bind_text(statement, index, text, -1, transient)
        }

        var index = 0
        func insert(upTo end: Int) throws {
          while index < end {
            sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
            for _ in 0..<min(batchSize, end - index) {
                let chat = "chat-\(index % 1_000)"
                let now = Date().timeIntervalSince1970
                bind(1, UUID.timeOrdered().uuidString.lowercased())
                bind(2, "org")
                bind(3, "loopback")
                bind(4, "acc")
                bind(5, chat)
                bind(6, "m\(index)")
                bind(7, "inbound")
                bind(8, chat)
                bind(9, "Peer \(chat)")
                bind(10, "message \(index)")
                bind(11, "delivered")
                sqlite3_bind_int64(statement, 12, 0)
                sqlite3_bind_double(statement, 13, now)
                sqlite3_bind_double(statement, 14, now)
                guard sqlite3_step(statement) == SQLITE_DONE else { throw BenchError("insert failed") }
                sqlite3_reset(statement)
                index += 1
            }
            sqlite3_exec(db, "COMMIT", nil, nil, nil)
          }
        }
        try insert(upTo: prefill)
        let clock = ContinuousClock()
        let started = clock.now
        try insert(upTo: prefill + rows)
        return Double(rows) / started.duration(to: clock.now).seconds
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
