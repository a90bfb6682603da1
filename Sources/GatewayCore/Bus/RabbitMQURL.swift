import Foundation

/// `amqp://[user[:password]@]host[:port][/vhost]` (the form of RABBITMQ_URL in the original
/// services; RabbitMQ's URI spec): user and password default to guest/guest, the port to 5672,
/// the vhost to "/" (written `%2f` in a path). Percent-escapes are decoded. `amqps://` is
/// refused with the reason: this build publishes over plain TCP only.
public struct RabbitMQURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var vhost: String

    public init(host: String, port: Int = 5672, user: String = "guest", password: String = "guest", vhost: String = "/") {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.vhost = vhost
    }

    public init(parsing text: String) throws(RabbitMQError) {
        guard let schemeEnd = text.range(of: "://") else {
            throw .invalidURL("expected amqp://user:password@host:port/vhost, got \"\(text)\"")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        if scheme == "amqps" { throw .invalidURL("amqps:// (TLS) is not supported by this build; use amqp://") }
        guard scheme == "amqp" else { throw .invalidURL("unsupported scheme \"\(scheme)\"; use amqp://") }
        var rest = text[schemeEnd.upperBound...]
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        var vhost = "/"
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard !path.contains("/"), let decoded = Self.decoded(path) else {
                    throw .invalidURL("bad vhost \"\(path)\" in \"\(Self.redacted(text))\" (write / as %2f)")
                }
                vhost = decoded
            }
        }
        var user = "guest"
        var password = "guest"
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let name = credentials.firstIndex(of: ":").map { credentials[..<$0] } ?? credentials
            guard let decodedUser = Self.decoded(name), !decodedUser.isEmpty else {
                throw .invalidURL("no user before \"@\" in \"\(Self.redacted(text))\"")
            }
            user = decodedUser
            password = ""
            if let colon = credentials.firstIndex(of: ":") {
                guard let decodedPassword = Self.decoded(credentials[credentials.index(after: colon)...]) else {
                    throw .invalidURL("bad percent-escape in the password of \"\(Self.redacted(text))\"")
                }
                password = decodedPassword
            }
        }
        var host = String(rest)
        var port = 5672
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw .invalidURL("unterminated IPv6 address in \"\(text)\"") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else {
                    throw .invalidURL("bad port in \"\(Self.redacted(text))\"")
                }
                port = number
            } else if !after.isEmpty {
                throw .invalidURL("bad host in \"\(Self.redacted(text))\"")
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let number = Int(host[host.index(after: colon)...]), (1...65535).contains(number) else {
                throw .invalidURL("bad port in \"\(Self.redacted(text))\"")
            }
            port = number
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw .invalidURL("no host in \"\(Self.redacted(text))\"") }
        guard !host.contains(where: { $0 == " " || $0 == "@" || $0 == "/" }) else {
            throw .invalidURL("bad host \"\(host)\" in \"\(Self.redacted(text))\"")
        }
        self.init(host: host, port: port, user: user, password: password, vhost: vhost)
    }

    private static func decoded(_ text: Substring) -> String? {
        text.contains("%") ? String(text).removingPercentEncoding : String(text)
    }

    /// The text with whatever sits between "://" and "@" hidden (it may hold a password).
    private static func redacted(_ text: String) -> String {
        guard let start = text.range(of: "://"), let at = text[start.upperBound...].lastIndex(of: "@") else { return text }
        return text[..<start.upperBound] + "***" + text[at...]
    }

    /// The URL without its password (for log lines).
    public var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        let vhost = self.vhost == "/" ? "%2f" : (self.vhost.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? self.vhost)
        return "amqp://\(user):***@\(host):\(port)/\(vhost)"
    }
}

public enum RabbitMQError: Error, CustomStringConvertible, Equatable {
    case invalidURL(String)
    /// Connecting, logging in, declaring the exchange or enabling confirms failed.
    case connect(String)
    /// The connection broke or the broker closed it.
    case connection(String)
    /// The broker refused (nack) a message: it could not take responsibility for it.
    case nacked(UInt64)
    /// No confirm within the time allowed.
    case confirmTimeout(String)

    public var description: String {
        switch self {
        case .invalidURL(let reason): "invalid RabbitMQ URL: \(reason)"
        case .connect(let reason): reason
        case .connection(let reason): reason
        case .nacked(let tag): "the broker refused message \(tag) (basic.nack)"
        case .confirmTimeout(let reason): reason
        }
    }
}
