import MTProtoCrypto
import TLRuntime

/// The AES-256-IGE layer protecting server_DH_inner_data (step 6) and client_DH_inner_data
/// (step 7): `SHA1(data) + data + 0-15 random bytes` to a multiple of 16, under the
/// temporary key and IV derived from new_nonce and server_nonce.
struct HandshakeCipher {
    private let key: [UInt8]
    private let iv: [UInt8]
    private static let hashLength = 20

    init(newNonce: TLInt256, serverNonce: TLInt128) {
        (key, iv) = HandshakeKeyDerivation.tmpAESKeyIV(newNonce: newNonce.bytes, serverNonce: serverNonce.bytes)
    }

    func seal(_ data: [UInt8], random: HandshakeRandom) throws(HandshakeError) -> [UInt8] {
        let withHash = SHA1.hash(data) + data
        let padded = withHash + random.blockPadding(after: withHash.count)
        return try HandshakeError.wrapping { try AES256IGE.encrypt(padded, key: key, iv: iv) }
    }

    /// Decrypts and returns the data the leading SHA1 vouches for. The padding length is not
    /// transmitted, so each of the 16 possible lengths is tried against the hash; the data is
    /// only parsed once its hash is known to match.
    func open(_ encrypted: [UInt8]) throws(HandshakeError) -> [UInt8] {
        guard encrypted.count % 16 == 0, encrypted.count > Self.hashLength else { throw .answerHashMismatch }
        let decrypted = try HandshakeError.wrapping { try AES256IGE.decrypt(encrypted, key: key, iv: iv) }
        let hash = Array(decrypted[0..<Self.hashLength])
        for padding in 0..<16 {
            let end = decrypted.count - padding
            guard end > Self.hashLength else { break }
            let data = Array(decrypted[Self.hashLength..<end])
            if SHA1.hash(data) == hash { return data }
        }
        throw .answerHashMismatch
    }
}
