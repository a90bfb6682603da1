/// Why a packet could not be read as an unencrypted MTProto message.
public enum PlainMessageError: Error, Equatable, Sendable {
    /// The packet starts with a non-zero auth_key_id: it is encrypted, not plain.
    case notPlain(authKeyId: Int64)
    /// Shorter than the 20-byte header (auth_key_id, message_id, message_data_length).
    case truncated(length: Int)
    /// message_data_length is negative or larger than the bytes that follow the header.
    case lengthMismatch(declared: Int32, actual: Int)
}

/// The unencrypted message format used by the auth key exchange
/// (https://core.telegram.org/mtproto/description#unencrypted-message):
///
///     auth_key_id = 0 (int64) | message_id (int64) | message_data_length (int32) | message_data
///
/// All integers little-endian.
public enum PlainMessage {
    static let headerLength = 20

    public static func encode(messageId: Int64, body: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = []
        packet.reserveCapacity(headerLength + body.count)
        appendLittleEndian(Int64(0), to: &packet)
        appendLittleEndian(messageId, to: &packet)
        appendLittleEndian(Int32(truncatingIfNeeded: body.count), to: &packet)
        packet.append(contentsOf: body)
        return packet
    }

    /// Reads the header and returns the body. Bytes after the declared length are ignored:
    /// the padded intermediate transport delivers random padding after the message.
    public static func decode(_ packet: [UInt8]) throws(PlainMessageError) -> (messageId: Int64, body: [UInt8]) {
        guard packet.count >= headerLength else { throw .truncated(length: packet.count) }
        let authKeyId = readLittleEndianInt64(packet, at: 0)
        guard authKeyId == 0 else { throw .notPlain(authKeyId: authKeyId) }
        let messageId = readLittleEndianInt64(packet, at: 8)
        let declared = Int32(truncatingIfNeeded: readLittleEndianInt64(packet, at: 16, width: 4))
        let available = packet.count - headerLength
        guard declared >= 0, Int(declared) <= available else {
            throw .lengthMismatch(declared: declared, actual: available)
        }
        return (messageId, Array(packet[headerLength..<headerLength + Int(declared)]))
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func readLittleEndianInt64(_ bytes: [UInt8], at offset: Int, width: Int = 8) -> Int64 {
        (0..<width).reversed().reduce(Int64(0)) { $0 << 8 | Int64(bytes[offset + $1]) }
    }
}
