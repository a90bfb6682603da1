/// Why `TransportCodec.decode` gave up on a connection. After any of these the byte
/// stream can no longer be framed, so the codec keeps failing with the same error.
public enum TransportError: Error, Equatable, Sendable {
    /// The server sent a transport error: a 4-byte payload holding a negative
    /// little-endian integer, e.g. -404 (auth key not found) or -429 (flood).
    case serverError(code: Int32)
    /// A frame announced a payload longer than the configured limit (checked from the
    /// length header, before the body is buffered).
    case frameTooLarge(length: Int, limit: Int)
    /// Full transport: `expected` is the CRC32 of the received bytes, `actual` the
    /// checksum the frame carried.
    case badChecksum(expected: UInt32, actual: UInt32)
    /// Full transport: the frame's sequence number is not the next one for this direction.
    case badSequence(expected: Int32, actual: Int32)
    /// A length header that no valid frame has (zero, too small, not a multiple of 4).
    case invalidLength(Int)
    /// Server side: the connection's first bytes match no transport (HTTP, TLS, garbage).
    case unknownProtocolTag([UInt8])
    /// Obfuscated connection whose header does not decrypt to a valid protocol tag.
    case malformedObfuscationHeader(String)
}
