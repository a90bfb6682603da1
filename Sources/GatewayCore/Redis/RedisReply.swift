/// One Redis reply, decoded from hiredis's `redisReply` tree (RESP2: what hiredis 0.14 speaks).
/// Bulk strings stay bytes: stream entries carry JSON, and keys may hold any byte.
enum RedisReply: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8])
    case null
    case array([RedisReply])

    /// The reply as text (a bulk string or a status), nil otherwise.
    var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { bytes } else { nil }
    }

    /// An integer reply, or a bulk string holding decimal digits.
    var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Int(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    var array: [RedisReply]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// The reply itself, or `RedisError.server` when Redis answered with an error.
    func checked() throws(RedisError) -> RedisReply {
        if case .error(let message) = self { throw .server(message) }
        return self
    }
}

/// What can go wrong talking to Redis. `connection` and `io` leave the connection unusable
/// (reconnect); `server` is an error reply (the connection stays good); `unexpectedReply` is a
/// reply of the wrong shape.
enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidURL(String)
    case connection(String)
    case io(String)
    case server(String)
    case unexpectedReply(String)
    /// No connection right now (Redis is down and being reconnected to), or shutting down.
    case unavailable(String)

    var description: String {
        switch self {
        case .invalidURL(let why): "invalid Redis URL: \(why)"
        case .connection(let why): "cannot connect to Redis: \(why)"
        case .io(let why): "Redis connection failed: \(why)"
        case .server(let message): "Redis error: \(message)"
        case .unexpectedReply(let what): "unexpected Redis reply: \(what)"
        case .unavailable(let why): "Redis unavailable: \(why)"
        }
    }

    /// True when the connection must be dropped and made again.
    var breaksConnection: Bool {
        switch self {
        case .connection, .io, .unavailable: true
        case .invalidURL, .server, .unexpectedReply: false
        }
    }
}
