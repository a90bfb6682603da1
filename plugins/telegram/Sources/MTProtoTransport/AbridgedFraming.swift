/// The abridged transport's envelope: the payload length in 4-byte words, as one byte
/// below 0x7f or as 0x7f plus 3 little-endian bytes. From the client, the top bit of the
/// first byte asks for a quick ack; from the server, a first byte with the top bit set
/// starts a 4-byte quick-ack token sent byte-swapped (big-endian) with no header.
enum AbridgedFraming {
    static func frame(_ payload: [UInt8], quickAck: Bool) -> [UInt8] {
        let words = payload.count / 4
        let quickAckBit: UInt8 = quickAck ? 0x80 : 0
        if words < 0x7f { return [UInt8(words) | quickAckBit] + payload }
        return [0x7f | quickAckBit, UInt8(words & 0xff), UInt8((words >> 8) & 0xff), UInt8((words >> 16) & 0xff)] + payload
    }

    static func quickAckFrame(_ token: UInt32) -> [UInt8] {
        LittleEndian.bytes(token).reversed()
    }

    static func parse(_ buffer: [UInt8], from start: Int, role: TransportRole, maxFrameLength: Int) throws -> ParsedFrame? {
        let available = buffer.count - start
        guard available >= 1 else { return nil }
        let first = buffer[start]
        if role == .client && first & 0x80 != 0 {
            guard available >= 4 else { return nil }
            let token = UInt32(first) << 24 | UInt32(buffer[start + 1]) << 16 | UInt32(buffer[start + 2]) << 8 | UInt32(buffer[start + 3])
            return ParsedFrame(event: .quickAck(token), consumed: 4)
        }
        // On the server side the top bit is the client's quick-ack request: not part of the length.
        let lengthByte = first & 0x7f
        let headerLength: Int
        let words: Int
        if lengthByte == 0x7f {
            guard available >= 4 else { return nil }
            words = Int(LittleEndian.uint24(buffer, at: start + 1))
            headerLength = 4
        } else {
            words = Int(lengthByte)
            headerLength = 1
        }
        let length = words * 4
        guard length > 0 else { throw TransportError.invalidLength(length) }
        guard length <= maxFrameLength else { throw TransportError.frameTooLarge(length: length, limit: maxFrameLength) }
        guard available >= headerLength + length else { return nil }
        let body = start + headerLength
        return ParsedFrame(event: .packet(Array(buffer[body..<(body + length)])), consumed: headerLength + length)
    }
}
