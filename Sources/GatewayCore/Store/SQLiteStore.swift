import CSQLite
import Foundation
import GatewayModel
import Synchronization

/// The embedded store: one SQLite file in WAL mode, one writer connection on its own serial
/// queue (batched transactions), a pool of reader connections for queries, and a connection
/// for plugin state. Writes live in SQLiteStore+Writes.swift, queries in SQLiteStore+Queries.swift.
public final class SQLiteStore: GatewayStore, PluginStateStore, @unchecked Sendable {
    public let path: String
    let writer: SQLiteConnection
    private let writerQueue = DispatchQueue(label: "gateway.sqlite.writer")
    private let readers = Mutex<[SQLiteConnection]>([])
    private let stateConnection: SQLiteConnection
    private let stateLock = NSLock()
    let encoder = JSONEncoder()
    /// Listings' JSON by row revision (see `writeChats`, `writeMessages`).
    let chatCache: RowJSONCache
    let messageCache: RowJSONCache
    /// Contacts as last written (writer queue only): unchanged contacts are not rewritten.
    var knownContacts: [ContactKey: Contact] = [:]
    static let knownContactsLimit = 100_000

    /// `listingCacheBytes`: the most JSON kept for each of the chats and messages listings.
    public init(path: String, listingCacheBytes: Int = 32 << 20) throws {
        self.path = path
        chatCache = RowJSONCache(byteLimit: listingCacheBytes)
        messageCache = RowJSONCache(byteLimit: listingCacheBytes)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        writer = try SQLiteConnection(path: path)
        try writer.execute(Self.connectionPragmas)
        stateConnection = try SQLiteConnection(path: path)
        try stateConnection.execute("PRAGMA busy_timeout=5000")
    }

    /// Runs a query on a pooled reader connection (WAL lets readers run beside the writer).
    func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let connection = try readers.withLock { $0.popLast() } ?? {
            let connection = try SQLiteConnection(path: path)
            try connection.execute("PRAGMA cache_size=-16384; PRAGMA query_only=ON;")
            return connection
        }()
        defer { readers.withLock { $0.append(connection) } }
        return try body(connection)
    }

    /// WAL: readers never block the writer. synchronous=NORMAL: a committed transaction survives
    /// a crash of the process (kill -9); only an OS crash can lose the last ones. A 64 MiB page
    /// cache keeps the indexes' hot pages in memory as the tables grow.
    public static let connectionPragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"

    public func migrate() async throws {
        try await onWriter { [self] in
            let version = try userVersion()
            for (index, migration) in SQLiteSchema.migrations.enumerated() where index >= version {
                try writer.transaction {
                    try writer.execute(migration)
                    try writer.execute("PRAGMA user_version = \(index + 1)")
                }
            }
        }
    }

    /// How many migrations the database has applied.
    public var schemaVersion: Int {
        get throws { try read { try userVersion(on: $0) } }
    }

    private func userVersion(on connection: SQLiteConnection? = nil) throws -> Int {
        let statement = try (connection ?? writer).prepare("PRAGMA user_version")
        _ = try statement.step()
        let version = statement.int(0) ?? 0
        statement.reset()
        return version
    }

    public func write(_ batch: [StoreWrite]) async throws -> [StoreWriteResult] {
        try await onWriter { [self] in try writer.transaction { try apply(batch) } }
    }

    /// Runs a statement on the writer connection, serialized with the batches.
    func onWriterConnection(_ body: @escaping @Sendable (SQLiteConnection) throws -> Void) async throws {
        try await onWriter { [self] in try body(writer) }
    }

    /// Hands the work to the writer queue and suspends until it is done: a transaction of
    /// thousands of rows never blocks one of the (few) cooperative threads.
    func onWriter<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            writerQueue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    public func stats() async throws -> StoreStats {
        try read { reader in
            func count(_ table: String) throws -> Int {
                let statement = try reader.prepare("SELECT COUNT(*) FROM \(table)")
                defer { statement.reset() }
                return try statement.step() ? statement.int(0) ?? 0 : 0
            }
            return StoreStats(backend: "sqlite", messages: try count("messages"), chats: try count("chats"), accounts: try count("accounts"))
        }
    }

    public func close() async {
        _ = try? await onWriter { [self] in try writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    // MARK: - Plugin state

    public func get(plugin: String, key: String) throws -> Data? {
        try stateLock.withLock {
            let statement = try stateConnection.prepare("SELECT value FROM plugin_state WHERE plugin = ? AND key = ?")
            statement.bind(1, plugin)
            statement.bind(2, key)
            defer { statement.reset() }
            return try statement.step() ? statement.data(0) ?? Data() : nil
        }
    }

    public func put(plugin: String, key: String, value: Data) throws {
        try stateLock.withLock {
            let statement = try stateConnection.prepare("""
                INSERT INTO plugin_state (plugin, key, value, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """)
            statement.bind(1, plugin)
            statement.bind(2, key)
            statement.bind(3, value)
            statement.bind(4, Date().timeIntervalSince1970)
            try statement.run()
        }
    }

    public func delete(plugin: String, key: String) throws {
        try stateLock.withLock {
            let statement = try stateConnection.prepare("DELETE FROM plugin_state WHERE plugin = ? AND key = ?")
            statement.bind(1, plugin)
            statement.bind(2, key)
            try statement.run()
        }
    }
}
