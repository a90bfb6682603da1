/// What `TransportCodec.decode` extracts from the byte stream.
public enum TransportEvent: Equatable, Sendable {
    /// One MTProto payload (for the padded intermediate transport, including its random
    /// padding: see `TransportCodec`).
    case packet([UInt8])
    /// A quick-ack token from the server (top bit set), acknowledging the client message
    /// whose `MessageKeyDerivation.quickAckToken` it equals. Clients may ignore these.
    case quickAck(UInt32)
}
