import COpenSSL

/// A streaming AES-256-CTR keystream (transport obfuscation). The counter carries over
/// between calls, so consecutive `process` calls behave like one call over the
/// concatenated data. Not thread-safe: one instance per direction of one connection.
public final class AES256CTR: @unchecked Sendable {
    private let context: OpaquePointer

    /// `key` is 32 bytes, `iv` the 16-byte initial counter block.
    public init(key: [UInt8], iv: [UInt8]) throws {
        guard key.count == 32, iv.count == 16 else { throw CryptoError.invalidKeyLength }
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("EVP_CIPHER_CTX_new") }
        let initialized = key.withUnsafeBufferPointer { keyBytes in
            iv.withUnsafeBufferPointer { ivBytes in
                EVP_EncryptInit_ex(context, OpenSSL.aes256CTR, nil, keyBytes.baseAddress, ivBytes.baseAddress)
            }
        }
        guard initialized == 1 else {
            EVP_CIPHER_CTX_free(context)
            throw OpenSSL.failure("EVP_EncryptInit_ex(AES-256-CTR)")
        }
        self.context = context
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// XORs `data` with the next `data.count` keystream bytes.
    public func process(_ data: [UInt8]) -> [UInt8] {
        var copy = data
        process(&copy)
        return copy
    }

    /// In-place form of `process(_:)`.
    public func process(_ data: inout [UInt8]) {
        guard !data.isEmpty else { return }
        data.withUnsafeMutableBufferPointer { buffer in
            // CTR is a stream mode: EVP writes exactly as many bytes as it reads and works
            // in place. Chunked only because EVP takes an Int32 length.
            var offset = 0
            while offset < buffer.count {
                let chunk = min(buffer.count - offset, 1 << 30)
                let pointer = buffer.baseAddress! + offset
                var written: Int32 = 0
                let status = EVP_EncryptUpdate(context, pointer, &written, pointer, Int32(chunk))
                guard status == 1, Int(written) == chunk else {
                    fatalError("EVP_EncryptUpdate(AES-256-CTR) failed: \(OpenSSL.lastError())")
                }
                offset += chunk
            }
        }
    }
}
