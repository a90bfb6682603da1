import Foundation

/// `redis://[[user]:password@]host[:port][/db]` (the form of REDIS_URL in the original services).
/// `rediss://` (TLS) and unix sockets are refused with the reason: Debian's hiredis 0.14 has no TLS.
struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    var user: String?
    var password: String?
    var database: Int

    init(host: String, port: Int = 6379, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    init(parsing text: String) throws(RedisError) {
        guard let schemeEnd = text.range(of: "://") else { throw .invalidURL("expected redis://host:port, got \"\(text)\"") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        if scheme == "rediss" { throw .invalidURL("rediss:// (TLS) is not supported by this build's hiredis; use redis://") }
        guard scheme == "redis" else { throw .invalidURL("unsupported scheme \"\(scheme)\"; use redis://") }
        var rest = text[schemeEnd.upperBound...]
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = credentials[..<colon].isEmpty ? nil : Self.percentDecoded(credentials[..<colon])
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else if !credentials.isEmpty {
                password = Self.percentDecoded(credentials)
            }
        }
        var host = String(rest)
        var port = 6379
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw .invalidURL("unterminated IPv6 address in \"\(text)\"") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else { throw .invalidURL("bad port in \"\(text)\"") }
                port = number
            } else if !after.isEmpty {
                throw .invalidURL("bad host in \"\(text)\"")
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let number = Int(host[host.index(after: colon)...]), (1...65535).contains(number) else {
                throw .invalidURL("bad port in \"\(text)\"")
            }
            port = number
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw .invalidURL("no host in \"\(text)\"") }
        var database = 0
        if !path.isEmpty {
            guard let number = Int(path), number >= 0 else { throw .invalidURL("database must be a number, got \"\(path)\"") }
            database = number
        }
        self.init(host: host, port: port, user: user, password: password, database: database)
    }

    private static func percentDecoded(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }

    /// The URL without its password (for log lines).
    var description: String {
        let credentials = password == nil ? "" : "\(user ?? ""):***@"
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "redis://\(credentials)\(host):\(port)\(database == 0 ? "" : "/\(database)")"
    }
}
