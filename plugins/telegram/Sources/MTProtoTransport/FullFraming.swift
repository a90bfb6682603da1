/// The full transport's envelope: total length (including these 12 bytes of overhead),
/// a per-direction sequence number counting from 0, the payload, and the CRC32 of
/// everything before it; all little-endian.
struct FullFraming {
    static let overhead = 12
    private var sendSequence: Int32 = 0
    private var receiveSequence: Int32 = 0

    mutating func frame(_ payload: [UInt8]) -> [UInt8] {
        var frame = LittleEndian.bytes(UInt32(payload.count + Self.overhead)) + LittleEndian.bytes(sendSequence) + payload
        frame += LittleEndian.bytes(CRC32.checksum(frame, in: 0..<frame.count))
        sendSequence &+= 1
        return frame
    }

    mutating func parse(_ buffer: [UInt8], from start: Int, maxFrameLength: Int) throws -> ParsedFrame? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        let total = Int(LittleEndian.uint32(buffer, at: start))
        guard total >= Self.overhead + 4, total % 4 == 0 else { throw TransportError.invalidLength(total) }
        let length = total - Self.overhead
        guard length <= maxFrameLength else { throw TransportError.frameTooLarge(length: length, limit: maxFrameLength) }
        guard available >= total else { return nil }

        let crcOffset = start + total - 4
        let computed = CRC32.checksum(buffer, in: start..<crcOffset)
        let carried = LittleEndian.uint32(buffer, at: crcOffset)
        guard computed == carried else { throw TransportError.badChecksum(expected: computed, actual: carried) }
        let sequence = Int32(bitPattern: LittleEndian.uint32(buffer, at: start + 4))
        guard sequence == receiveSequence else {
            throw TransportError.badSequence(expected: receiveSequence, actual: sequence)
        }
        receiveSequence &+= 1
        return ParsedFrame(event: .packet(Array(buffer[(start + 8)..<crcOffset])), consumed: total)
    }
}
