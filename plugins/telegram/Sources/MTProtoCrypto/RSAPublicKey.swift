import COpenSSL

/// An RSA public key as Telegram uses it: raw (unpadded) RSA over 256-byte blocks,
/// identified by a 64-bit fingerprint.
public struct RSAPublicKey: Sendable, Hashable {
    /// Big-endian, no leading zeros.
    public let modulus: [UInt8]
    /// Big-endian, no leading zeros.
    public let exponent: [UInt8]

    public init(modulus: [UInt8], exponent: [UInt8]) {
        self.modulus = modulus.strippingLeadingZeros
        self.exponent = exponent.strippingLeadingZeros
    }

    /// Accepts PKCS#1 ("BEGIN RSA PUBLIC KEY", Telegram's format) and SPKI ("BEGIN PUBLIC KEY").
    public init(pem: String) throws {
        let (label, der) = try PEMCoding.decode(pem)
        let key: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            switch label {
            case "RSA PUBLIC KEY": return d2i_PublicKey(EVP_PKEY_RSA, nil, &cursor, buffer.count)
            case "PUBLIC KEY": return d2i_PUBKEY(nil, &cursor, buffer.count)
            default: return nil
            }
        }
        guard let key else {
            ERR_clear_error()
            throw CryptoError.invalidPEM
        }
        defer { EVP_PKEY_free(key) }
        try RSAKeyParameters.requireRSA(key)
        self.init(modulus: try RSAKeyParameters.component("n", of: key),
                  exponent: try RSAKeyParameters.component("e", of: key))
    }

    /// Telegram's key fingerprint: the lower 64 bits of SHA1 over the TL `bytes`
    /// serializations of n and e, i.e. the last 8 digest bytes read as little-endian.
    public var fingerprint: Int64 {
        let digest = SHA1.hash(TLBytes.serialize(modulus), TLBytes.serialize(exponent))
        return digest[12..<20].reversed().reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }

    /// Raw RSA: `block^e mod n`, left-padded to 256 bytes (or the modulus size if larger).
    /// Throws when the block, read as a big-endian number, is not below the modulus.
    public func encryptRaw(_ block: [UInt8]) throws -> [UInt8] {
        try RawRSA.apply(block, exponent: exponent, modulus: modulus)
    }

    /// PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"), the format Telegram publishes its keys in.
    public var pem: String {
        // Encoding two integers cannot fail short of OpenSSL running out of memory.
        (try? PEMCoding.encode(label: "RSA PUBLIC KEY", der: DER.rsaPublicKey(modulus: modulus, exponent: exponent))) ?? ""
    }
}

/// Textbook RSA over big-endian blocks, shared by both key types.
enum RawRSA {
    static func apply(_ block: [UInt8], exponent: [UInt8], modulus: [UInt8]) throws -> [UInt8] {
        let modulusNumber = BigNum(modulus)
        guard !modulusNumber.isZero else { throw CryptoError.rsaFailure("modulus is zero") }
        let value = BigNum(block)
        guard value.compare(modulusNumber) < 0 else { throw CryptoError.rsaFailure("block is not below the modulus") }
        let result = try BigNum.modExp(value, BigNum(exponent), modulusNumber, BigNumContext())
        guard let output = result.bytes(paddedTo: max(256, modulusNumber.byteCount)) else {
            throw CryptoError.rsaFailure("result does not fit the block size")
        }
        return output
    }
}
