/// Why an encrypted packet or message was rejected. None of these end the connection by
/// themselves: the caller logs them and reads on (a hostile or corrupted packet is dropped).
public enum SessionError: Error, Equatable, Sendable {
    case packetTooShort(Int)
    case wrongAuthKeyId(expected: Int64, actual: Int64)
    case misalignedCiphertext(Int)
    case messageKeyMismatch
    case badMessageLength(declared: Int, available: Int)
    case badPadding(Int)
    case wrongSessionId(expected: Int64, actual: Int64)
    case messageIdOutOfWindow(messageId: Int64, serverTime: Double)
    case messageIdWrongParity(Int64)
    case duplicateMessageId(Int64)
    case malformedContainer(String)
    case inflatedTooLarge(limit: Int)
    case corruptGzip
    case crypto(String)
}
