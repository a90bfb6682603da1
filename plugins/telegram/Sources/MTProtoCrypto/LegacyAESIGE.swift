import COpenSSL

/// OpenSSL's own IGE (`AES_ige_encrypt`, deprecated since OpenSSL 3.0), reached only
/// through a protocol requirement so the deprecation stays confined to this file.
protocol LegacyIGEEncrypting {
    static func encrypt(_ data: [UInt8], key: [UInt8], iv: [UInt8]) -> [UInt8]
    static func decrypt(_ data: [UInt8], key: [UInt8], iv: [UInt8]) -> [UInt8]
}

enum LegacyAESIGE: LegacyIGEEncrypting {
    /// `data` is a non-empty multiple of 16 bytes, `key` and `iv` 32 bytes (checked by the caller).
    @available(*, deprecated, message: "benchmark reference only")
    static func encrypt(_ data: [UInt8], key: [UInt8], iv: [UInt8]) -> [UInt8] {
        run(data, key: key, iv: iv, mode: AES_ENCRYPT)
    }

    @available(*, deprecated, message: "benchmark reference only")
    static func decrypt(_ data: [UInt8], key: [UInt8], iv: [UInt8]) -> [UInt8] {
        run(data, key: key, iv: iv, mode: AES_DECRYPT)
    }

    @available(*, deprecated, message: "benchmark reference only")
    private static func run(_ data: [UInt8], key: [UInt8], iv: [UInt8], mode: Int32) -> [UInt8] {
        var schedule = AES_KEY()
        _ = key.withUnsafeBufferPointer {
            mode == AES_ENCRYPT ? AES_set_encrypt_key($0.baseAddress, 256, &schedule) : AES_set_decrypt_key($0.baseAddress, 256, &schedule)
        }
        var ivCopy = iv
        var output = [UInt8](repeating: 0, count: data.count)
        data.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                AES_ige_encrypt(input.baseAddress, out.baseAddress, input.count, &schedule, &ivCopy, mode)
            }
        }
        return output
    }
}
