import Foundation
import NIOCore
import PostgresNIO

/// `storage.postgres.url` taken apart: postgres://user:password@host:port/database?options.
/// Options (libpq's names where there is one): `sslmode` = disable | prefer (default) | require,
/// `host` = a unix socket directory (then the URL's host part may be empty), `pool_max`
/// (connections in the pool, default 10), `connect_timeout` (seconds, default 10),
/// `write_timeout` (seconds a write may hold its pooled connection, default 30; see
/// PostgresConnectionWatch.swift).
public struct PostgresSettings: Sendable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode = .prefer
    public var poolMax = 10
    public var connectTimeoutSeconds = 10
    public var writeTimeoutSeconds = 30

    /// The URL without its password, for messages.
    public var redacted: String {
        let place: String
        switch endpoint {
        case .tcp(let host, let port): place = "\(host):\(port)"
        case .unixSocket(let path): place = path
        }
        return "postgres://\(username)@\(place)/\(database)"
    }

    public init(url text: String) throws {
        func invalid(_ why: String) -> PostgresStoreError {
            PostgresStoreError("storage.postgres.url is not a usable PostgreSQL URL: \(why) "
                + "(expected postgres://user:password@host:5432/database)")
        }
        guard let components = URLComponents(string: text) else { throw invalid("it does not parse as a URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let known: Set = ["sslmode", "host", "pool_max", "connect_timeout", "write_timeout", "application_name"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw invalid("unknown option \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw invalid("port \(port) is out of range") }
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            endpoint = .unixSocket(path: "\(socketDirectory)/.s.PGSQL.\(port)")
        } else if let host = components.host, !host.isEmpty {
            endpoint = .tcp(host: host, port: port)
        } else {
            throw invalid("it names no host")
        }
        guard let user = components.user?.removingPercentEncoding, !user.isEmpty else { throw invalid("it names no user") }
        username = user
        password = components.password?.removingPercentEncoding
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 } ?? user
        if let mode = query["sslmode"] {
            switch mode {
            case "disable", "allow": tlsMode = .disable
            case "prefer", "": tlsMode = .prefer
            case "require", "verify-ca", "verify-full": tlsMode = .require
            default: throw invalid("sslmode \"\(mode)\" is not one of disable, prefer, require")
            }
        }
        if let value = query["pool_max"] {
            guard let size = Int(value), (1...1000).contains(size) else { throw invalid("pool_max must be 1...1000") }
            poolMax = size
        }
        if let value = query["connect_timeout"] {
            guard let seconds = Int(value), (1...600).contains(seconds) else { throw invalid("connect_timeout must be 1...600 seconds") }
            connectTimeoutSeconds = seconds
        }
        if let value = query["write_timeout"] {
            guard let seconds = Int(value), (1...3600).contains(seconds) else { throw invalid("write_timeout must be 1...3600 seconds") }
            writeTimeoutSeconds = seconds
        }
    }

    private func tls() throws -> PostgresConnection.Configuration.TLS {
        switch tlsMode {
        case .disable: return .disable
        case .prefer: return .prefer(try .init(configuration: .makeClientConfiguration()))
        case .require: return .require(try .init(configuration: .makeClientConfiguration()))
        }
    }

    /// One connection (the startup probe and the plugin-state connection).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: try tls())
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: username, password: password, database: database)
        }
        configuration.options.connectTimeout = .seconds(Int64(connectTimeoutSeconds))
        return configuration
    }

    /// The pool.
    func clientConfiguration() -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS
            switch tlsMode {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(.makeClientConfiguration())
            case .require: tls = .require(.makeClientConfiguration())
            }
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: username, password: password, database: database)
        }
        configuration.options.maximumConnections = poolMax
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(Int64(connectTimeoutSeconds))
        return configuration
    }
}

/// A PostgreSQL store failure with a message that names what was wrong (never the password).
public struct PostgresStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }

    /// Turns a postgres-nio error (whose own description hides everything) into a sentence.
    static func describe(_ error: any Error, settings: PostgresSettings) -> PostgresStoreError {
        if let error = error as? PostgresStoreError { return error }
        let target = settings.redacted
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError {
                return describe(inner, settings: settings)
            }
        }
        guard let error = error as? PSQLError else { return PostgresStoreError("PostgreSQL \(target): \(error)") }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "error"
            switch state {
            case "28P01":
                return PostgresStoreError("PostgreSQL \(target): authentication failed for user \"\(settings.username)\" (\(message))")
            case "28000":
                return PostgresStoreError("PostgreSQL \(target): the server refused the login: \(message)")
            case "3D000":
                return PostgresStoreError("PostgreSQL \(target): database \"\(settings.database)\" does not exist")
            case "57P03":
                return PostgresStoreError("PostgreSQL \(target): the server is starting up or shutting down (\(message))")
            default:
                var text = "PostgreSQL \(target): \(message) (SQLSTATE \(state))"
                if let detail = error.serverInfo?[.detail] { text += ": \(detail)" }
                return PostgresStoreError(text)
            }
        case .connectionError:
            let why = error.underlying.map { "\($0)" } ?? "connection failed"
            return PostgresStoreError("PostgreSQL \(target): cannot connect: \(why)")
        case .sslUnsupported:
            return PostgresStoreError("PostgreSQL \(target): the server does not offer TLS, but sslmode=require")
        case .authMechanismRequiresPassword:
            return PostgresStoreError("PostgreSQL \(target): the server asks for a password and the URL has none")
        case .unsupportedAuthMechanism:
            return PostgresStoreError("PostgreSQL \(target): the server asks for an authentication method this client does not support")
        case .serverClosedConnection, .uncleanShutdown:
            return PostgresStoreError("PostgreSQL \(target): the server closed the connection")
        case .poolClosed, .clientClosedConnection:
            // A statement issued just after the server ended the session: its error underneath.
            if let underlying = error.underlying { return describe(underlying, settings: settings) }
            return PostgresStoreError("PostgreSQL \(target): the store is closed")
        default:
            return PostgresStoreError("PostgreSQL \(target): \(error.code)")
        }
    }
}
