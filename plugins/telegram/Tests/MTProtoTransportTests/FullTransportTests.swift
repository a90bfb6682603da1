import Testing
import MTProtoTransport

/// Full transport frames built by hand; CRC32 values from Python's `zlib.crc32` over
/// length + seq_no + payload.
@Suite struct FullTransportTests {
    /// len 28, seq 0, payload 00..0F, crc32 0x45D4BE21.
    static let frame0 = hex("1C000000 00000000 000102030405060708090A0B0C0D0E0F 21BED445")
    /// len 36, seq 1, payload 64..7B, crc32 0xF9D98BD6.
    static let frame1 = hex("24000000 01000000 6465666768696A6B6C6D6E6F707172737475767778797A7B D68BD9F9")

    @Test func decodesKnownFrames() throws {
        let client = TransportCodec(configuration: TransportConfiguration(kind: .full, obfuscated: false), role: .client)
        let events = try decodeAll(client, Self.frame0 + Self.frame1, chunking: .singleBytes)
        #expect(events == [.packet(Array(0..<16)), .packet(Array(100..<124))])
    }

    @Test func encodesKnownFrames() {
        let client = TransportCodec(configuration: TransportConfiguration(kind: .full, obfuscated: false), role: .client)
        #expect(client.encode(Array(0..<16)) == Self.frame0)
        #expect(client.encode(Array(100..<124)) == Self.frame1)
    }

    @Test func serverDetectsAndDecodesKnownFrames() throws {
        let server = TransportCodec.server()
        #expect(try server.decode(Self.frame0 + Self.frame1) == [.packet(Array(0..<16)), .packet(Array(100..<124))])
        #expect(server.configuration?.kind == .full)
    }

    @Test func rejectsACorruptedChecksum() {
        var corrupted = Self.frame0
        corrupted[10] ^= 0x01
        let client = TransportCodec(configuration: TransportConfiguration(kind: .full, obfuscated: false), role: .client)
        #expect(throws: TransportError.self) { try client.decode(corrupted) }
        var badCRC = Self.frame0
        badCRC[27] = 0x00
        let other = TransportCodec(configuration: TransportConfiguration(kind: .full, obfuscated: false), role: .client)
        #expect(throws: TransportError.badChecksum(expected: 0x45D4_BE21, actual: 0x00D4_BE21)) { try other.decode(badCRC) }
    }

    @Test func rejectsOutOfOrderSequenceNumbers() throws {
        let client = TransportCodec(configuration: TransportConfiguration(kind: .full, obfuscated: false), role: .client)
        #expect(throws: TransportError.badSequence(expected: 0, actual: 1)) { try client.decode(Self.frame1) }

        let (peer, server) = try connectedPair(TransportConfiguration(kind: .full, obfuscated: false))
        _ = server.encode(randomPayload(8))  // lost: the client never sees sequence number 0
        #expect(throws: TransportError.badSequence(expected: 0, actual: 1)) { try peer.decode(server.encode(randomPayload(8))) }
    }

    @Test func decodesTheTransportErrorFrame() {
        // len 16, seq 0, payload -404 (0xFFFFFE6C), crc32 from zlib.
        var frame = hex("10000000 00000000 6CFEFFFF")
        frame += crc32LittleEndian(frame)
        let client = TransportCodec(configuration: TransportConfiguration(kind: .full, obfuscated: false), role: .client)
        #expect(throws: TransportError.serverError(code: -404)) { try client.decode(frame) }
    }

    /// Bitwise CRC-32 (IEEE, reflected), written out independently of zlib.
    private func crc32LittleEndian(_ bytes: [UInt8]) -> [UInt8] {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xffff_ffff
        return [UInt8(crc & 0xff), UInt8((crc >> 8) & 0xff), UInt8((crc >> 16) & 0xff), UInt8(crc >> 24)]
    }
}
