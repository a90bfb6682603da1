/// What a finished exchange leaves the client with.
public struct HandshakeResult: Sendable {
    public let authKey: AuthKey
    /// The first server salt: substr(new_nonce, 0, 8) XOR substr(server_nonce, 0, 8).
    public let serverSalt: Int64
    /// server_time − local now, in seconds, from server_DH_inner_data (seed for message ids).
    public let timeOffset: Double

    public init(authKey: AuthKey, serverSalt: Int64, timeOffset: Double) {
        self.authKey = authKey
        self.serverSalt = serverSalt
        self.timeOffset = timeOffset
    }
}

/// The client's next move after a packet.
public enum HandshakeStep: Sendable {
    /// A plain message packet to write to the transport.
    case send([UInt8])
    /// The key is agreed; `send` is a last packet to write, if any (none in MTProto 2.0 today).
    case done(HandshakeResult, send: [UInt8]?)
}

/// The data center's next move after a packet.
public enum ServerHandshakeStep: Sendable {
    /// A plain message packet to write to the transport.
    case send([UInt8])
    /// The key is agreed; `send` carries dh_gen_ok and must still be written.
    case done(authKey: AuthKey, serverSalt: Int64, send: [UInt8])
}
