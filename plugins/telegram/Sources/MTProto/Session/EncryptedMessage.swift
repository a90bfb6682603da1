import MTProtoCrypto
import TLRuntime

/// One message inside an encrypted packet (MTProto 2.0).
public struct DecryptedMessage: Sendable, Equatable {
    public var salt: Int64
    public var sessionId: Int64
    public var messageId: Int64
    public var seqNo: Int32
    public var body: [UInt8]

    public init(salt: Int64, sessionId: Int64, messageId: Int64, seqNo: Int32, body: [UInt8]) {
        self.salt = salt
        self.sessionId = sessionId
        self.messageId = messageId
        self.seqNo = seqNo
        self.body = body
    }
}

/// MTProto 2.0 message encryption: auth_key_id + msg_key + AES-256-IGE(salt, session_id, msg_id,
/// seq_no, length, body, 12…1024 bytes of padding), msg_key from SHA-256 of key part + plaintext.
/// https://core.telegram.org/mtproto/description
public enum EncryptedMessage {
    /// The sender's side decides the key material (x = 0 client→server, 8 server→client).
    public static func encrypt(_ message: DecryptedMessage, authKey: AuthKey, sender: MessageKeyDerivation.Side,
                               random: (Int) -> [UInt8] = SecureRandom.bytes) -> [UInt8] {
        var writer = TLWriter(capacity: message.body.count + 64)
        writer.write(message.salt)
        writer.write(message.sessionId)
        writer.write(message.messageId)
        writer.write(message.seqNo)
        writer.write(Int32(truncatingIfNeeded: message.body.count))
        writer.writeRaw(message.body)
        // At least 12 bytes of padding, total a multiple of 16; a little random extra hides lengths.
        var padding = 12 + (16 - (writer.bytes.count + 12) % 16) % 16
        padding += 16 * Int(random(1)[0] % 4)
        writer.writeRaw(random(padding))
        let plaintext = writer.bytes
        let messageKey = MessageKeyDerivation.messageKey(authKey: authKey.bytes, plaintextPadded: plaintext, side: sender)
        let (key, iv) = MessageKeyDerivation.aesKeyIV(authKey: authKey.bytes, messageKey: messageKey, side: sender)
        // Cannot fail: key and iv are 32 bytes and the plaintext a multiple of 16.
        let ciphertext = (try? AES256IGE.encrypt(plaintext, key: key, iv: iv)) ?? []
        var packet = TLWriter(capacity: 24 + ciphertext.count)
        packet.write(authKey.id)
        packet.writeRaw(messageKey)
        packet.writeRaw(ciphertext)
        return packet.bytes
    }

    /// Decrypts and checks a packet from `sender`. Bytes after the last whole 16-byte block are
    /// ignored (the padded intermediate transport adds up to 15).
    public static func decrypt(_ packet: [UInt8], authKey: AuthKey, sender: MessageKeyDerivation.Side) throws -> DecryptedMessage {
        guard packet.count >= 24 + 48 else { throw SessionError.packetTooShort(packet.count) }
        var header = TLReader(packet)
        let authKeyId = try header.readInt64()
        guard authKeyId == authKey.id else { throw SessionError.wrongAuthKeyId(expected: authKey.id, actual: authKeyId) }
        let messageKey = Array(packet[8..<24])
        let usable = (packet.count - 24) & ~15
        let ciphertext = Array(packet[24..<24 + usable])
        let (key, iv) = MessageKeyDerivation.aesKeyIV(authKey: authKey.bytes, messageKey: messageKey, side: sender)
        let plaintext: [UInt8]
        do { plaintext = try AES256IGE.decrypt(ciphertext, key: key, iv: iv) } catch { throw SessionError.crypto("\(error)") }
        // msg_key must be recomputed from the whole decrypted plaintext (padding included).
        guard MessageKeyDerivation.messageKey(authKey: authKey.bytes, plaintextPadded: plaintext, side: sender) == messageKey else {
            throw SessionError.messageKeyMismatch
        }
        var reader = TLReader(plaintext)
        let salt = try reader.readInt64()
        let sessionId = try reader.readInt64()
        let messageId = try reader.readInt64()
        let seqNo = try reader.readInt32()
        let length = Int(try reader.readInt32())
        let available = plaintext.count - 32
        guard length >= 0, length % 4 == 0, length <= available else {
            throw SessionError.badMessageLength(declared: length, available: available)
        }
        let padding = available - length
        guard (12...1024).contains(padding) else { throw SessionError.badPadding(padding) }
        return DecryptedMessage(salt: salt, sessionId: sessionId, messageId: messageId, seqNo: seqNo,
                                body: Array(plaintext[32..<32 + length]))
    }
}
