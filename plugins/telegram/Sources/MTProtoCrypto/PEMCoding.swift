import COpenSSL

/// PEM armour (base64 between BEGIN/END lines) through OpenSSL's generic PEM reader and
/// writer, plus memory-BIO plumbing shared by the RSA key types.
enum PEMCoding {
    /// The first PEM block in `text`: its label (e.g. "RSA PUBLIC KEY") and DER body.
    static func decode(_ text: String) throws -> (label: String, der: [UInt8]) {
        try withReadBIO(text) { bio in
            var name: UnsafeMutablePointer<CChar>?
            var header: UnsafeMutablePointer<CChar>?
            var data: UnsafeMutablePointer<UInt8>?
            var length: Int = 0
            guard PEM_read_bio(bio, &name, &header, &data, &length) == 1, let name, let data else {
                ERR_clear_error()
                throw CryptoError.invalidPEM
            }
            defer {
                CRYPTO_free(name, nil, 0)
                CRYPTO_free(header, nil, 0)
                CRYPTO_free(data, nil, 0)
            }
            return (String(cString: name), Array(UnsafeBufferPointer(start: data, count: length)))
        }
    }

    /// `der` armoured under `label`, 64-character lines, trailing newline.
    static func encode(label: String, der: [UInt8]) throws -> String {
        try withWriteBIO { bio in
            let status = der.withUnsafeBufferPointer { PEM_write_bio(bio, label, "", $0.baseAddress, $0.count) }
            guard status > 0 else { throw OpenSSL.failure("PEM_write_bio") }
        }
    }

    /// Runs `body` with a read-only memory BIO over `text`.
    static func withReadBIO<T>(_ text: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
                throw OpenSSL.failure("BIO_new_mem_buf")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `body` with an empty memory BIO and returns what it wrote, as text.
    static func withWriteBIO(_ body: (OpaquePointer) throws -> Void) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSL.failure("BIO_new") }
        defer { BIO_free(bio) }
        try body(bio)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let read = chunk.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
            if read <= 0 { break }
            output += chunk[0..<Int(read)]
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// The little DER this module writes: PKCS#1 `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }`.
enum DER {
    static func rsaPublicKey(modulus: [UInt8], exponent: [UInt8]) -> [UInt8] {
        let body = integer(modulus) + integer(exponent)
        return [0x30] + length(body.count) + body
    }

    /// A non-negative INTEGER: minimal big-endian, with a 0x00 prefix when the top bit is set.
    private static func integer(_ magnitude: [UInt8]) -> [UInt8] {
        var content = Array(magnitude.drop { $0 == 0 })
        if content.isEmpty || content[0] & 0x80 != 0 { content.insert(0, at: 0) }
        return [0x02] + length(content.count) + content
    }

    private static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var remaining = count
        while remaining > 0 {
            bytes.insert(UInt8(remaining & 0xff), at: 0)
            remaining >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}
