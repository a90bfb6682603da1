import MTProtoCrypto

/// The AES-256-CTR layer of transport obfuscation
/// (https://core.telegram.org/mtproto/mtproto-transports#transport-obfuscation): one
/// keystream per direction, both keyed from the connection's 64-byte random header.
/// The client encrypts with key = header[8..<40], iv = header[40..<56] and decrypts with
/// the same ranges of the reversed header; the server mirrors that.
struct Obfuscation {
    let outgoing: AES256CTR
    let incoming: AES256CTR

    /// The client's side: a fresh header carrying `tag` and `dcId`, the keystreams, and
    /// the 64 bytes to send first (header[0..<56] in clear, [56..<64] encrypted).
    static func client(tag: [UInt8], dcId: Int16) throws -> (obfuscation: Obfuscation, wireHeader: [UInt8]) {
        var header = ObfuscationHeader.random()
        header.replaceSubrange(56..<60, with: tag)
        header.replaceSubrange(60..<62, with: [UInt8(truncatingIfNeeded: dcId), UInt8(truncatingIfNeeded: dcId >> 8)])
        let reversed = Array(header.reversed())
        let obfuscation = Obfuscation(
            outgoing: try AES256CTR(key: Array(header[8..<40]), iv: Array(header[40..<56])),
            incoming: try AES256CTR(key: Array(reversed[8..<40]), iv: Array(reversed[40..<56])))
        let encrypted = obfuscation.outgoing.process(header)
        return (obfuscation, Array(header[0..<56]) + encrypted[56..<64])
    }

    /// The server's side, from the client's 64-byte wire header: the keystreams (the
    /// incoming one already past the header) and the decrypted header.
    static func server(wireHeader: [UInt8]) throws -> (obfuscation: Obfuscation, decryptedHeader: [UInt8]) {
        let reversed = Array(wireHeader.reversed())
        let obfuscation = Obfuscation(
            outgoing: try AES256CTR(key: Array(reversed[8..<40]), iv: Array(reversed[40..<56])),
            incoming: try AES256CTR(key: Array(wireHeader[8..<40]), iv: Array(wireHeader[40..<56])))
        return (obfuscation, obfuscation.incoming.process(wireHeader))
    }
}

/// The random 64-byte obfuscation header, drawn so that a server cannot mistake it for
/// any unobfuscated protocol.
enum ObfuscationHeader {
    static let length = 64

    /// First 4 bytes (little-endian) a header must not start with: plain transport tags,
    /// HTTP methods ("HEAD", "POST", "GET ", "OPTI") and a TLS handshake.
    static let forbiddenFirstWords: Set<UInt32> = [
        0x4441_4548, 0x5453_4f50, 0x2054_4547, 0x4954_504f, 0x0201_0316, 0xdddd_dddd, 0xeeee_eeee,
    ]

    static func random() -> [UInt8] {
        while true {
            let header = SecureRandom.bytes(length)
            if isAcceptable(header) { return header }
        }
    }

    /// Not 0xef first (abridged), no forbidden first word, and a non-zero second word
    /// (zero would read as the full transport's first sequence number).
    static func isAcceptable(_ header: [UInt8]) -> Bool {
        header[0] != 0xef
            && !forbiddenFirstWords.contains(LittleEndian.uint32(header, at: 0))
            && LittleEndian.uint32(header, at: 4) != 0
    }
}
