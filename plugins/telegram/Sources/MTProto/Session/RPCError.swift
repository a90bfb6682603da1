/// An rpc_error from the server, with the parts clients act on parsed out:
/// `FLOOD_WAIT_X` (seconds to wait) and `*_MIGRATE_X` (the data center to use instead).
public struct RPCError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public enum MigrationKind: String, Sendable { case phone = "PHONE", user = "USER", network = "NETWORK", file = "FILE", stats = "STATS" }

    /// The message without its numeric suffix: `FLOOD_WAIT` for `FLOOD_WAIT_30`.
    public var name: String {
        guard trailingNumber != nil, let separator = message.lastIndex(of: "_") else { return message }
        return String(message[..<separator])
    }

    /// `FLOOD_WAIT_X` / `FLOOD_PREMIUM_WAIT_X` / `SLOWMODE_WAIT_X`: seconds before retrying.
    public var floodWaitSeconds: Int? {
        ["FLOOD_WAIT", "FLOOD_PREMIUM_WAIT", "SLOWMODE_WAIT"].contains(name) ? trailingNumber : nil
    }

    /// `PHONE_MIGRATE_X`, `USER_MIGRATE_X`, `NETWORK_MIGRATE_X`, …: where to redo the call.
    public var migration: (kind: MigrationKind, dc: Int)? {
        guard name.hasSuffix("_MIGRATE"), let dc = trailingNumber,
              let kind = MigrationKind(rawValue: String(name.dropLast("_MIGRATE".count))) else { return nil }
        return (kind, dc)
    }

    private var trailingNumber: Int? {
        guard let last = message.split(separator: "_").last, let value = Int(last) else { return nil }
        return value
    }

    public var description: String { "\(code) \(message)" }

    public static func == (lhs: RPCError, rhs: RPCError) -> Bool { lhs.code == rhs.code && lhs.message == rhs.message }
}
