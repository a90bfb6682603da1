import MTProtoCrypto

/// A 2048-bit authorization key shared by a client and a data center, with the ids derived from it.
public struct AuthKey: Sendable, Hashable {
    public let bytes: [UInt8]
    /// The lower 64 bits of SHA1(key), which prefixes every encrypted message.
    public let id: Int64
    /// The higher 64 bits of SHA1(key) as 8 bytes (auth_key_aux_hash, in the handshake's new_nonce hashes).
    public let auxHash: [UInt8]

    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 256 else { return nil }
        self.bytes = bytes
        let hash = SHA1.hash(bytes)
        id = Self.littleEndianInt64(hash[12..<20])
        auxHash = Array(hash[0..<8])
    }

    static func littleEndianInt64(_ bytes: ArraySlice<UInt8>) -> Int64 {
        bytes.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
}
