/// The intermediate transports' envelope: a 4-byte little-endian length, then the
/// payload (and, padded, 0-15 random bytes the length includes). From the client, the
/// length's top bit asks for a quick ack. From the server, a quick ack is a bare 4-byte
/// token with the top bit set (intermediate) or a short frame `FFFFFFFF token padding`
/// of 8-16 bytes (padded intermediate).
enum IntermediateFraming {
    static func frame(_ payload: [UInt8], padding: [UInt8], quickAck: Bool) -> [UInt8] {
        var length = UInt32(payload.count + padding.count)
        if quickAck { length |= 0x8000_0000 }
        return LittleEndian.bytes(length) + payload + padding
    }

    static func parse(
        _ buffer: [UInt8], from start: Int, padded: Bool, role: TransportRole, maxFrameLength: Int
    ) throws -> ParsedFrame? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        let header = LittleEndian.uint32(buffer, at: start)
        if role == .client && !padded && header & 0x8000_0000 != 0 {
            return ParsedFrame(event: .quickAck(header), consumed: 4)
        }
        // From the client the top bit is a quick-ack request; from the server it would
        // be a length beyond any limit.
        let length = Int(role == .server ? header & 0x7fff_ffff : header)
        guard length >= 4, padded || length % 4 == 0 else { throw TransportError.invalidLength(length) }
        guard length <= maxFrameLength else { throw TransportError.frameTooLarge(length: length, limit: maxFrameLength) }
        guard available >= 4 + length else { return nil }
        let body = Array(buffer[(start + 4)..<(start + 4 + length)])
        if role == .client && padded && length >= 8 && length <= 16 && LittleEndian.uint32(body, at: 0) == 0xffff_ffff {
            return ParsedFrame(event: .quickAck(LittleEndian.uint32(body, at: 4)), consumed: 4 + length)
        }
        return ParsedFrame(event: .packet(body), consumed: 4 + length)
    }
}
