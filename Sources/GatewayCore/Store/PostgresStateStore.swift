import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Plugin state on PostgreSQL: the `plugin_state` table, keyed by (plugin, key).
///
/// `PluginStateStore` is synchronous (the C ABI's state_get returns the value in the call), so this
/// bridges by blocking the *calling* thread — a plugin's own thread, for a few milliseconds —
/// while a dedicated connection (not one of the pool's) runs the statement on a NIO event loop:
/// `EventLoopFuture.wait()`. Nothing here needs a thread of Swift's cooperative pool to make
/// progress, so a caller that blocks one of those cannot deadlock it; a call made on a NIO event
/// loop thread would (it would wait for itself), and is refused with an error instead. Calls are
/// serialized by a lock (state traffic is small: sessions saved now and then); a connection the
/// server closed is reopened on the next call.
final class PostgresStateConnection: @unchecked Sendable {
    private let settings: PostgresSettings
    private let logger: Logger
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var closed = false

    init(settings: PostgresSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    func run(_ statement: PGStatement) throws -> [PostgresRow] {
        if MultiThreadedEventLoopGroup.currentEventLoop != nil {
            throw PostgresStoreError("plugin state cannot be read or written from a NIO event loop thread (it would block it)")
        }
        return try lock.withLock {
            guard !closed else { throw PostgresStoreError("PostgreSQL \(settings.redacted): the store is closed") }
            do {
                let connection = try open()
                do {
                    return try connection.query(statement.query, logger: logger).wait().rows
                } catch where connection.isClosed {
                    // The server closed it (restart, idle timeout): once more on a new connection.
                    self.connection = nil
                    return try open().query(statement.query, logger: logger).wait().rows
                }
            } catch {
                throw PostgresStoreError.describe(error, settings: settings)
            }
        }
    }

    /// The open connection, or a new one (lock held).
    private func open() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        let eventLoop = PostgresConnection.defaultEventLoopGroup.any()
        let connection = try PostgresConnection.connect(
            on: eventLoop, configuration: try settings.connectionConfiguration(), id: 1, logger: logger
        ).wait()
        self.connection = connection
        return connection
    }

    func close() {
        let connection = lock.withLock { () -> PostgresConnection? in
            closed = true
            defer { self.connection = nil }
            return self.connection
        }
        try? connection?.close().wait()
    }
}

extension PostgresStore {
    public func get(plugin: String, key: String) throws -> Data? {
        try state.run(PGStatement("SELECT value FROM plugin_state WHERE plugin = ? AND key = ?", [.text(plugin), .text(key)]))
            .first.map { $0.makeRandomAccess().data(0) ?? Data() }
    }

    public func put(plugin: String, key: String, value: Data) throws {
        _ = try state.run(PGStatement("""
            INSERT INTO plugin_state (plugin, key, value, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """, [.text(plugin), .text(key), .bytes(value), .date(Date())]))
    }

    public func delete(plugin: String, key: String) throws {
        _ = try state.run(PGStatement("DELETE FROM plugin_state WHERE plugin = ? AND key = ?", [.text(plugin), .text(key)]))
    }
}
