/// SHA-256 (32 bytes), used by MTProto 2.0 message keys, RSA_PAD and SRP.
public enum SHA256 {
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        MessageDigest.hash([data], digest: OpenSSL.sha256, length: 32)
    }

    /// The hash of the concatenation of `parts`.
    public static func hash(_ parts: [UInt8]...) -> [UInt8] {
        MessageDigest.hash(parts, digest: OpenSSL.sha256, length: 32)
    }
}
