/// Telegram's RSA padding for `req_DH_params` (https://core.telegram.org/mtproto/auth_key,
/// step 4.1, "RSA_PAD"), and the older SHA1-prefixed scheme it replaced.
public enum RSAPad {
    /// Largest `data` RSA_PAD carries.
    public static let maximumDataLength = 144
    /// Largest `data` the old scheme carries (255 bytes less the SHA1).
    public static let maximumOldDataLength = 235

    private static let paddedLength = 192
    private static let zeroIV = [UInt8](repeating: 0, count: 32)

    /// RSA_PAD: pads `data` to 192 random-filled bytes, hides it under a random AES key
    /// whose XOR with SHA256(ciphertext) travels in front, and encrypts the 256-byte
    /// result with raw RSA. Needs a 2048-bit key.
    public static func encrypt(_ data: [UInt8], with key: RSAPublicKey) throws -> [UInt8] {
        try encrypt(data, with: key, padding: SecureRandom.bytes(paddedLength - data.count),
                    temporaryKeys: { SecureRandom.bytes(32) })
    }

    /// `encrypt` with injectable randomness, for known-answer tests.
    static func encrypt(
        _ data: [UInt8], with key: RSAPublicKey, padding: [UInt8], temporaryKeys: () -> [UInt8]
    ) throws -> [UInt8] {
        guard data.count <= maximumDataLength else {
            throw CryptoError.invalidLength("RSA_PAD data is \(data.count) bytes, at most \(maximumDataLength)")
        }
        guard key.modulus.count == 256 else { throw CryptoError.rsaFailure("RSA_PAD needs a 2048-bit key") }
        guard data.count + padding.count == paddedLength else {
            throw CryptoError.invalidLength("RSA_PAD padding must fill data to \(paddedLength) bytes")
        }
        let dataWithPadding = data + padding
        let reversed = Array(dataWithPadding.reversed())
        // Each attempt succeeds with probability n / 2^2048 > 1/2; 64 failures in a row
        // mean the randomness source is broken, not bad luck.
        for _ in 0..<64 {
            let temporaryKey = temporaryKeys()
            guard temporaryKey.count == 32 else { throw CryptoError.invalidKeyLength }
            let dataWithHash = reversed + SHA256.hash(temporaryKey, dataWithPadding)
            let aesEncrypted = try AES256IGE.encrypt(dataWithHash, key: temporaryKey, iv: zeroIV)
            let temporaryKeyXor = zip(temporaryKey, SHA256.hash(aesEncrypted)).map { $0 ^ $1 }
            let keyAESEncrypted = temporaryKeyXor + aesEncrypted
            if BigNumber.compare(keyAESEncrypted, key.modulus) < 0 {
                return try key.encryptRaw(keyAESEncrypted)
            }
        }
        throw CryptoError.rsaFailure("RSA_PAD found no block below the modulus")
    }

    /// Server side of RSA_PAD: returns the 192-byte `data_with_padding` (the caller
    /// TL-decodes its prefix and ignores the rest). Throws on a block not below the
    /// modulus or a hash mismatch.
    public static func decrypt(_ encrypted: [UInt8], with key: RSAPrivateKey) throws -> [UInt8] {
        guard encrypted.count == 256 else {
            throw CryptoError.invalidLength("RSA_PAD ciphertext is \(encrypted.count) bytes, expected 256")
        }
        let keyAESEncrypted = try key.decryptRaw(encrypted)
        guard keyAESEncrypted.count == 256 else { throw CryptoError.rsaFailure("RSA_PAD needs a 2048-bit key") }
        let aesEncrypted = Array(keyAESEncrypted[32...])
        let temporaryKey = zip(keyAESEncrypted[0..<32], SHA256.hash(aesEncrypted)).map { $0 ^ $1 }
        let dataWithHash = try AES256IGE.decrypt(aesEncrypted, key: temporaryKey, iv: zeroIV)
        let dataWithPadding = Array(dataWithHash[0..<paddedLength].reversed())
        guard SHA256.hash(temporaryKey, dataWithPadding) == Array(dataWithHash[paddedLength...]) else {
            throw CryptoError.rsaFailure("RSA_PAD hash mismatch")
        }
        return dataWithPadding
    }

    /// Old scheme: `SHA1(data) + data + random padding` to 255 bytes, then raw RSA.
    public static func encryptOld(_ data: [UInt8], with key: RSAPublicKey) throws -> [UInt8] {
        guard data.count <= maximumOldDataLength else {
            throw CryptoError.invalidLength("old RSA data is \(data.count) bytes, at most \(maximumOldDataLength)")
        }
        return try key.encryptRaw(SHA1.hash(data) + data + SecureRandom.bytes(maximumOldDataLength - data.count))
    }

    /// Server side of the old scheme: the 235 bytes of data and padding after the SHA1
    /// (the caller parses TL, then can check the hash with `decryptOldWithHash`).
    public static func decryptOld(_ encrypted: [UInt8], with key: RSAPrivateKey) throws -> [UInt8] {
        try decryptOldWithHash(encrypted, with: key).dataWithPadding
    }

    /// Like `decryptOld`, also returning the SHA1 the client put in front, so the caller
    /// can verify it against `SHA1(data)` once it knows the data's length.
    public static func decryptOldWithHash(
        _ encrypted: [UInt8], with key: RSAPrivateKey
    ) throws -> (hash: [UInt8], dataWithPadding: [UInt8]) {
        guard encrypted.count == 256 else {
            throw CryptoError.invalidLength("old RSA ciphertext is \(encrypted.count) bytes, expected 256")
        }
        let block = try key.decryptRaw(encrypted)
        // The client encrypts 255 bytes, so a well-formed block starts with a zero byte.
        guard block.count == 256, block[0] == 0 else { throw CryptoError.rsaFailure("old RSA block is not 255 bytes") }
        return (Array(block[1..<21]), Array(block[21...]))
    }
}
