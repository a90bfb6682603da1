import COpenSSL

/// An RSA private key, for the server side (the fake DC): decrypts what clients encrypt
/// with the matching `RSAPublicKey`.
public struct RSAPrivateKey: Sendable {
    public let publicKey: RSAPublicKey
    /// PKCS#1 PEM ("BEGIN RSA PRIVATE KEY").
    public let pem: String
    private let privateExponent: [UInt8]

    /// Accepts PKCS#1 ("BEGIN RSA PRIVATE KEY") and unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
    public init(pem: String) throws {
        let key: OpaquePointer? = try PEMCoding.withReadBIO(pem) { bio in
            PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let key else {
            ERR_clear_error()
            throw CryptoError.invalidPEM
        }
        defer { EVP_PKEY_free(key) }
        try self.init(key: key)
    }

    /// A fresh key pair (public exponent 65537).
    public static func generate(bits: Int = 2048) throws -> RSAPrivateKey {
        guard bits >= 512, bits <= 16384 else { throw CryptoError.invalidLength("RSA key size \(bits) bits") }
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nil) else { throw OpenSSL.failure("EVP_PKEY_CTX_new_id") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1 else {
            throw OpenSSL.failure("EVP_PKEY_keygen_init")
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw OpenSSL.failure("EVP_PKEY_generate") }
        defer { EVP_PKEY_free(key) }
        return try RSAPrivateKey(key: key)
    }

    private init(key: OpaquePointer) throws {
        try RSAKeyParameters.requireRSA(key)
        publicKey = RSAPublicKey(modulus: try RSAKeyParameters.component("n", of: key),
                                 exponent: try RSAKeyParameters.component("e", of: key))
        privateExponent = try RSAKeyParameters.component("d", of: key)
        pem = try PEMCoding.withWriteBIO { bio in
            guard PEM_write_bio_PrivateKey_traditional(bio, key, nil, nil, 0, nil, nil) == 1 else {
                throw OpenSSL.failure("PEM_write_bio_PrivateKey_traditional")
            }
        }
    }

    /// Raw RSA: `block^d mod n`, left-padded to 256 bytes (or the modulus size if larger).
    /// Throws when the block is not below the modulus.
    public func decryptRaw(_ block: [UInt8]) throws -> [UInt8] {
        try RawRSA.apply(block, exponent: privateExponent, modulus: publicKey.modulus)
    }
}
