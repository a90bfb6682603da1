/// An error a channel reports for a request: the payload of a `GW_REPLY_ERROR` reply.
/// `code` is a stable machine-readable string (e.g. `PHONE_CODE_INVALID`, `not_found`).
public struct ChannelError: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// Seconds after which the request may be retried (flood control).
    public var retryAfter: Int?

    public init(code: String, message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }

    public static func badRequest(_ message: String) -> ChannelError {
        ChannelError(code: "bad_request", message: message)
    }

    public static func unknownAccount(_ accountId: String) -> ChannelError {
        ChannelError(code: "unknown_account", message: "account \(accountId) is not known to this channel")
    }
}
