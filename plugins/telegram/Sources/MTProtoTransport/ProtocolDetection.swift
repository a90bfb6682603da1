/// Server side: recognizes the transport a client speaks from its first bytes
/// (0xef abridged, 0xeeeeeeee intermediate, 0xdddddddd padded intermediate, a frame
/// with sequence number 0 for full, otherwise a 64-byte obfuscation header whose
/// decrypted bytes 56..<60 hold one of the tags).
enum ProtocolDetection {
    struct Detected {
        var kind: TransportKind
        var obfuscation: Obfuscation?
        var dcId: Int16
        /// Bytes of the prefix that belong to the tag or header, not to the first frame.
        var prefixLength: Int
    }

    /// nil while the bytes so far could still begin more than one thing.
    static func detect(_ bytes: [UInt8]) throws -> Detected? {
        guard let first = bytes.first else { return nil }
        if first == 0xef { return Detected(kind: .abridged, obfuscation: nil, dcId: 0, prefixLength: 1) }
        guard bytes.count >= 4 else { return nil }
        let firstWord = LittleEndian.uint32(bytes, at: 0)
        switch firstWord {
        case 0xeeee_eeee: return Detected(kind: .intermediate, obfuscation: nil, dcId: 0, prefixLength: 4)
        case 0xdddd_dddd: return Detected(kind: .paddedIntermediate, obfuscation: nil, dcId: 0, prefixLength: 4)
        default: break
        }
        if ObfuscationHeader.forbiddenFirstWords.contains(firstWord) {
            throw TransportError.unknownProtocolTag(Array(bytes[0..<4]))
        }
        guard bytes.count >= 8 else { return nil }
        if LittleEndian.uint32(bytes, at: 4) == 0 {
            return Detected(kind: .full, obfuscation: nil, dcId: 0, prefixLength: 0)
        }
        guard bytes.count >= ObfuscationHeader.length else { return nil }
        let obfuscation: Obfuscation, header: [UInt8]
        do {
            (obfuscation, header) = try Obfuscation.server(wireHeader: Array(bytes[0..<ObfuscationHeader.length]))
        } catch {
            throw TransportError.malformedObfuscationHeader("cannot key AES-256-CTR: \(error)")
        }
        // Random bytes that do not decrypt to a tag are indistinguishable from garbage.
        guard let kind = TransportKind(obfuscationTag: header[56..<60]) else {
            throw TransportError.unknownProtocolTag(Array(bytes[0..<4]))
        }
        let dcId = Int16(bitPattern: UInt16(header[60]) | UInt16(header[61]) << 8)
        return Detected(kind: kind, obfuscation: obfuscation, dcId: dcId, prefixLength: ObfuscationHeader.length)
    }
}
