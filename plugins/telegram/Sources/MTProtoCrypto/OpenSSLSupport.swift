import COpenSSL

/// Shared plumbing for calling OpenSSL: error text and pre-fetched algorithm handles.
///
/// OpenSSL 3 looks algorithms up in its provider registry on every `EVP_sha256()`-style
/// implicit fetch; fetching once and reusing the handle avoids that lock on hot paths.
enum OpenSSL {
    nonisolated(unsafe) static let sha1: OpaquePointer = fetchDigest("SHA1")
    nonisolated(unsafe) static let sha256: OpaquePointer = fetchDigest("SHA256")
    nonisolated(unsafe) static let sha512: OpaquePointer = fetchDigest("SHA512")
    nonisolated(unsafe) static let aes256ECB: OpaquePointer = fetchCipher("AES-256-ECB")
    nonisolated(unsafe) static let aes256CTR: OpaquePointer = fetchCipher("AES-256-CTR")

    /// The ECB cipher for a raw AES key of 16, 24 or 32 bytes.
    static func aesECB(keyLength: Int) -> OpaquePointer? {
        switch keyLength {
        case 16: return aes128ECB
        case 24: return aes192ECB
        case 32: return aes256ECB
        default: return nil
        }
    }
    nonisolated(unsafe) private static let aes128ECB: OpaquePointer = fetchCipher("AES-128-ECB")
    nonisolated(unsafe) private static let aes192ECB: OpaquePointer = fetchCipher("AES-192-ECB")

    private static func fetchDigest(_ name: String) -> OpaquePointer {
        guard let digest = EVP_MD_fetch(nil, name, nil) else {
            fatalError("OpenSSL has no \(name) digest: \(lastError())")
        }
        return digest
    }

    private static func fetchCipher(_ name: String) -> OpaquePointer {
        guard let cipher = EVP_CIPHER_fetch(nil, name, nil) else {
            fatalError("OpenSSL has no \(name) cipher: \(lastError())")
        }
        return cipher
    }

    /// Drains OpenSSL's thread-local error queue into one readable string.
    static func lastError() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? "unknown error" : reasons.joined(separator: "; ")
    }

    /// A `CryptoError.openSSL` naming the failed call and OpenSSL's queued reasons.
    static func failure(_ call: String) -> CryptoError {
        .openSSL("\(call): \(lastError())")
    }
}
