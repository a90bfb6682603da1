import MTProto
import MTProtoCrypto
import MTProtoTransport

/// Where and how a sender talks to one data center.
public struct SenderConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The `dc` sent in p_q_inner_data_dc: the DC number, +10000 for test servers, negative for media.
    public var dcId: Int32
    public var transport: TransportConfiguration
    /// Server keys this client trusts (production keys built into the client layer; test keys from config).
    public var rsaKeys: [RSAPublicKey]
    public var connectTimeout: Duration = .seconds(10)
    public var handshakeTimeout: Duration = .seconds(15)
    public var requestTimeout: Duration = .seconds(30)
    /// ping_delay_disconnect keepalive: the server closes the link if no ping arrives within interval + 15 s.
    public var pingInterval: Duration = .seconds(60)
    public var reconnectAttempts = 5
    public var reconnectBaseDelay: Duration = .milliseconds(500)
    public var reconnectMaximumDelay: Duration = .seconds(10)

    public init(host: String, port: Int, dcId: Int32, transport: TransportConfiguration, rsaKeys: [RSAPublicKey]) {
        self.host = host
        self.port = port
        self.dcId = dcId
        self.transport = transport
        self.rsaKeys = rsaKeys
    }
}

/// What must survive a restart to reuse an authorization: the key, the salt, the clock offset.
public struct AuthorizationState: Sendable, Equatable {
    public var authKey: AuthKey
    public var salt: Int64
    public var timeOffset: Double

    public init(authKey: AuthKey, salt: Int64, timeOffset: Double) {
        self.authKey = authKey
        self.salt = salt
        self.timeOffset = timeOffset
    }
}

/// What happens on a sender's connection, for the layer above.
public enum SenderEvent: Sendable {
    /// A non-service message from the server (Updates), as TL bytes.
    case update([UInt8])
    /// The server opened a new session: updates may have been missed.
    case newSession
    /// Salt or clock offset changed: persist the new state.
    case authorizationChanged(AuthorizationState)
    case connectionLost(String)
    case reconnected
    /// Reconnecting failed `reconnectAttempts` times (or `close()` was called): pending requests failed.
    case closed(String)
}

public enum SenderError: Error, Equatable, Sendable {
    case notConnected
    case timeout
    case closed(String)
    case connectionFailed(String)
    /// bad_msg_notification the session does not retry (its error code).
    case refusedByServer(code: Int32)
    case handshake(String)
    /// Transport error -404: the data center does not know this auth key.
    case authKeyRejected
}
