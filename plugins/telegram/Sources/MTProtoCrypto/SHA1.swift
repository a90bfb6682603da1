/// SHA-1 (20 bytes), used by MTProto's handshake (nonces, old RSA scheme, fingerprints).
public enum SHA1 {
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        MessageDigest.hash([data], digest: OpenSSL.sha1, length: 20)
    }

    /// The hash of the concatenation of `parts`.
    public static func hash(_ parts: [UInt8]...) -> [UInt8] {
        MessageDigest.hash(parts, digest: OpenSSL.sha1, length: 20)
    }
}
