/// Identifies a request handed to `ClientSession.send` until its answer arrives.
public struct RequestToken: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public var description: String { "request#\(value)" }
}

/// What a received packet meant for the session's user.
public enum SessionEvent: Sendable, Equatable {
    /// The answer to a request: the result's TL bytes, or the server's rpc_error.
    case result(RequestToken, Result<[UInt8], RPCError>)
    /// The server refused a request for a protocol reason it will not retry (bad_msg_notification).
    case failed(RequestToken, code: Int32)
    /// A message that is not a service message: updates for the update engine.
    case update([UInt8])
    /// The server started a new session for us: updates in between may be lost (call getDifference).
    case newSessionCreated
    /// Salt or clock offset changed: persist them.
    case stateChanged
}
