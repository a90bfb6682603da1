import TLRuntime

/// Plain-message framing and TL decoding shared by both sides of the exchange.
enum HandshakeWire {
    enum Sender { case client, server }

    /// Unwraps a plain message and checks its id's parity for the direction
    /// (https://core.telegram.org/mtproto/description#important-checks): even from a
    /// client, odd from a server.
    static func open(_ packet: [UInt8], from sender: Sender) throws(HandshakeError) -> [UInt8] {
        let message: (messageId: Int64, body: [UInt8])
        do {
            message = try PlainMessage.decode(packet)
        } catch {
            throw .plainMessage(error)
        }
        let odd = message.messageId & 1 == 1
        guard odd == (sender == .server) else { throw .invalidMessageId(message.messageId) }
        return message.body
    }

    /// The constructor id a body starts with, to route it before decoding.
    static func constructorId(of body: [UInt8]) throws(HandshakeError) -> UInt32 {
        var reader = TLReader(body)
        return try HandshakeError.wrapping { try reader.readUInt32() }
    }

    /// Decodes a boxed value; trailing bytes (padding) are allowed, as in any MTProto message.
    static func decode<T: TLDeserializable>(_ type: T.Type, from body: [UInt8]) throws(HandshakeError) -> T {
        try HandshakeError.wrapping { try T(tlBytes: body) }
    }

    /// A unix time as TL `int` (server_time), clamped rather than trapping on odd clocks.
    static func unixTime(_ seconds: Double) -> Int32 {
        guard seconds.isFinite else { return 0 }
        return Int32(max(Double(Int32.min), min(Double(Int32.max), seconds.rounded(.down))))
    }
}
