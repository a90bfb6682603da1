import COpenSSL

/// One-shot hashing of a list of byte strings (hashed as their concatenation) with an
/// OpenSSL digest, without building the concatenated buffer.
enum MessageDigest {
    static func hash(_ parts: [[UInt8]], digest: OpaquePointer, length: Int) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: \(OpenSSL.lastError())") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, digest, nil) == 1 else {
            fatalError("EVP_DigestInit_ex: \(OpenSSL.lastError())")
        }
        for part in parts where !part.isEmpty {
            let status = part.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
            guard status == 1 else { fatalError("EVP_DigestUpdate: \(OpenSSL.lastError())") }
        }
        var output = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        let status = output.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &written) }
        guard status == 1, Int(written) == length else { fatalError("EVP_DigestFinal_ex: \(OpenSSL.lastError())") }
        return output
    }
}
