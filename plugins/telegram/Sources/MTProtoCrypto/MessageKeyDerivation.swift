/// MTProto 2.0 message key and AES key/IV derivation
/// (https://core.telegram.org/mtproto/description, "Defining AES Key and Initialization Vector").
///
/// The auth key must be 256 bytes; that is an invariant of the caller (auth keys only
/// come from the handshake or storage), so a wrong size stops the process rather than
/// deriving keys from a truncated secret.
public enum MessageKeyDerivation {
    /// Which direction a message travels; selects the auth key offset `x`.
    public enum Side: Sendable {
        /// Client → server (`x = 0`).
        case client
        /// Server → client (`x = 8`).
        case server

        var offset: Int { self == .client ? 0 : 8 }
    }

    /// `msg_key`: the middle 16 bytes (8..<24) of
    /// `SHA256(auth_key[88+x ..< 120+x] + plaintext_with_padding)`.
    public static func messageKey(authKey: [UInt8], plaintextPadded: [UInt8], side: Side) -> [UInt8] {
        Array(messageKeyLarge(authKey: authKey, plaintextPadded: plaintextPadded, side: side)[8..<24])
    }

    /// The quick-ack token for an outgoing message: the first 32 bits of the same SHA256
    /// as `messageKey`, read little-endian, with the top bit set
    /// (https://core.telegram.org/mtproto/mtproto-transports#quick-ack).
    public static func quickAckToken(authKey: [UInt8], plaintextPadded: [UInt8], side: Side) -> UInt32 {
        let large = messageKeyLarge(authKey: authKey, plaintextPadded: plaintextPadded, side: side)
        let low = large[0..<4].reversed().reduce(UInt32(0)) { ($0 << 8) | UInt32($1) }
        return low | 0x8000_0000
    }

    /// The AES-256-IGE key (32 bytes) and IV (32 bytes) for a message with `messageKey`.
    public static func aesKeyIV(authKey: [UInt8], messageKey: [UInt8], side: Side) -> (key: [UInt8], iv: [UInt8]) {
        checkAuthKey(authKey)
        let x = side.offset
        let a = SHA256.hash(messageKey, Array(authKey[x..<(x + 36)]))
        let b = SHA256.hash(Array(authKey[(40 + x)..<(76 + x)]), messageKey)
        let key = Array(a[0..<8]) + b[8..<24] + a[24..<32]
        let iv = Array(b[0..<8]) + a[8..<24] + b[24..<32]
        return (key, iv)
    }

    private static func messageKeyLarge(authKey: [UInt8], plaintextPadded: [UInt8], side: Side) -> [UInt8] {
        checkAuthKey(authKey)
        let x = side.offset
        return SHA256.hash(Array(authKey[(88 + x)..<(120 + x)]), plaintextPadded)
    }

    private static func checkAuthKey(_ authKey: [UInt8]) {
        precondition(authKey.count == 256, "MTProto auth keys are 256 bytes, got \(authKey.count)")
    }
}
