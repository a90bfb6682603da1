import COpenSSL

/// PBKDF2 (RFC 8018) through OpenSSL's `PKCS5_PBKDF2_HMAC`.
public enum PBKDF2 {
    /// PBKDF2-HMAC-SHA512; SRP uses 100000 iterations and the full 64-byte output.
    public static func sha512(password: [UInt8], salt: [UInt8], iterations: Int, length: Int = 64) throws -> [UInt8] {
        guard iterations > 0, iterations <= Int(Int32.max) else {
            throw CryptoError.invalidLength("PBKDF2 iterations must be positive, got \(iterations)")
        }
        guard length > 0, length <= 1 << 20 else { throw CryptoError.invalidLength("PBKDF2 output length \(length)") }
        var output = [UInt8](repeating: 0, count: length)
        // Empty arrays may have no base address; OpenSSL wants a pointer even for length 0.
        let passwordLength = Int32(password.count), saltLength = Int32(salt.count)
        let password: [UInt8] = password.isEmpty ? [0] : password
        let salt: [UInt8] = salt.isEmpty ? [0] : salt
        let status = password.withUnsafeBytes { passwordBytes in
            salt.withUnsafeBufferPointer { saltBytes in
                output.withUnsafeMutableBufferPointer { out in
                    PKCS5_PBKDF2_HMAC(
                        passwordBytes.baseAddress?.assumingMemoryBound(to: CChar.self), passwordLength,
                        saltBytes.baseAddress, saltLength, Int32(iterations),
                        OpenSSL.sha512, Int32(length), out.baseAddress)
                }
            }
        }
        guard status == 1 else { throw OpenSSL.failure("PKCS5_PBKDF2_HMAC") }
        return output
    }
}
