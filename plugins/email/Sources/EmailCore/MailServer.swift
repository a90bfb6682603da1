import CEmail

/// How a connection to a mail server is secured.
public enum TLSMode: String, Codable, Sendable, CaseIterable {
    /// Plain connection upgraded with STARTTLS (required: a server without it is an error).
    case starttls
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    case implicit
    /// No TLS at all (tests, or a relay on the same host).
    case none

    var cValue: Int32 {
        switch self {
        case .none: Int32(CEMAIL_TLS_NONE)
        case .starttls: Int32(CEMAIL_TLS_STARTTLS)
        case .implicit: Int32(CEMAIL_TLS_IMPLICIT)
        }
    }
}

/// One server an account logs in to (SMTP or IMAP), as the connect request's `config.smtp` /
/// `config.imap` carries it. `caFile` is a PEM bundle trusted instead of the system's store.
public struct MailServer: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int
    public var tls: TLSMode
    public var username: String
    public var password: String
    public var caFile: String?
    /// IMAP only: the mailbox to watch (default INBOX).
    public var mailbox: String?
    /// SMTP only: "PLAIN" or "LOGIN" to force one; default: the best the server offers.
    public var auth: String?
    /// Connect and per-command timeout, seconds (default 30).
    public var timeoutSeconds: Int?

    public init(host: String, port: Int, tls: TLSMode, username: String, password: String, caFile: String? = nil,
                mailbox: String? = nil, auth: String? = nil, timeoutSeconds: Int? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.password = password
        self.caFile = caFile
        self.mailbox = mailbox
        self.auth = auth
        self.timeoutSeconds = timeoutSeconds
    }

    /// Problems a connect request should answer with, before any network call; nil when none.
    public func problem(_ role: String) -> String? {
        if host.isEmpty { return "\(role).host is required" }
        if !(1...65535).contains(port) { return "\(role).port must be 1…65535" }
        if let auth, !["PLAIN", "LOGIN"].contains(auth.uppercased()) { return "\(role).auth must be PLAIN or LOGIN" }
        if let mailbox, mailbox.isEmpty { return "\(role).mailbox must not be empty" }
        return nil
    }

    /// Calls `body` with the C view of this server (strings valid during the call only).
    func withCServer<R>(_ body: (cemail_server) throws -> R) rethrows -> R {
        try host.withCString { host in
            try username.withCString { username in
                try password.withCString { password in
                    try withOptionalCString(caFile) { caFile in
                        try body(cemail_server(
                            host: host, port: UInt16(clamping: port), tls: tls.cValue, username: username,
                            password: password, ca_file: caFile, timeout_seconds: timeoutSeconds ?? 30))
                    }
                }
            }
        }
    }
}

func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
    guard let string, !string.isEmpty else { return try body(nil) }
    return try string.withCString(body)
}

/// What went wrong talking to a mail server.
public struct MailError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case network, tls, auth, protocolError = "protocol", notFound = "not_found", rejected
    }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    init(code: Int32, buffer: [CChar]) {
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch code {
        case Int32(CEMAIL_ERR_TLS): kind = .tls
        case Int32(CEMAIL_ERR_AUTH): kind = .auth
        case Int32(CEMAIL_ERR_PROTOCOL): kind = .protocolError
        case Int32(CEMAIL_ERR_NOT_FOUND): kind = .notFound
        default: kind = .network
        }
        message = text.isEmpty ? "mail server error \(code)" : text
    }

    public var description: String { message }
}
