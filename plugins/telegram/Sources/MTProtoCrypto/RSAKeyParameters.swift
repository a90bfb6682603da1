import COpenSSL

/// Reads RSA components out of an OpenSSL `EVP_PKEY`.
enum RSAKeyParameters {
    /// Big-endian bytes of the named RSA parameter ("n", "e", "d").
    static func component(_ name: String, of key: OpaquePointer) throws -> [UInt8] {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(key, name, &number) == 1, let number else {
            throw OpenSSL.failure("EVP_PKEY_get_bn_param(\(name))")
        }
        defer { BN_clear_free(number) }
        var output = [UInt8](repeating: 0, count: (Int(BN_num_bits(number)) + 7) / 8)
        _ = output.withUnsafeMutableBufferPointer { BN_bn2bin(number, $0.baseAddress) }
        return output
    }

    static func requireRSA(_ key: OpaquePointer) throws {
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else { throw CryptoError.invalidPEM }
    }
}
