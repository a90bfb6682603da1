import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    /// `count` random bytes. OpenSSL's generator failing means the process has no usable
    /// entropy source; continuing would produce predictable keys, so that stops the process.
    public static func bytes(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var output = [UInt8](repeating: 0, count: count)
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        guard status == 1 else { fatalError("RAND_bytes failed: \(OpenSSL.lastError())") }
        return output
    }
}
