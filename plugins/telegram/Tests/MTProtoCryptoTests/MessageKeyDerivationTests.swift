import Testing
import MTProtoCrypto

/// Expected values from an independent Python (hashlib) implementation of
/// https://core.telegram.org/mtproto/description, "Defining AES Key and Initialization Vector".
@Suite struct MessageKeyDerivationTests {
    static let authKey = (0..<256).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }
    static let plaintext = (0..<64).map { UInt8(truncatingIfNeeded: $0 * 3) }

    @Test func clientToServer() {
        let messageKey = MessageKeyDerivation.messageKey(authKey: Self.authKey, plaintextPadded: Self.plaintext, side: .client)
        #expect(messageKey == hex("84C206DCDD51621A23E9CEA0AB414C4F"))
        let (key, iv) = MessageKeyDerivation.aesKeyIV(authKey: Self.authKey, messageKey: messageKey, side: .client)
        #expect(key == hex("B57BF63D0BD6F6FD85487A822D43E1D445956CD30E7880A82178A7FC4F99C538"))
        #expect(iv == hex("B94034FD45BB24AD0212B0237FC5544A1ECEF02295405332818532D8626D075F"))
        #expect(MessageKeyDerivation.quickAckToken(authKey: Self.authKey, plaintextPadded: Self.plaintext, side: .client) == 0xF856_20FD)
    }

    @Test func serverToClient() {
        let messageKey = MessageKeyDerivation.messageKey(authKey: Self.authKey, plaintextPadded: Self.plaintext, side: .server)
        #expect(messageKey == hex("1D9406FB03BC5164D402EAB435F3DD90"))
        let (key, iv) = MessageKeyDerivation.aesKeyIV(authKey: Self.authKey, messageKey: messageKey, side: .server)
        #expect(key == hex("6194C2A708AD0A9134FEFC06B2692C394668145D9B5C603A5EC308992DA6343F"))
        #expect(iv == hex("90E30C6B109C70A76EEFA5C9FCF0C69B6F4FE0C31C0CDB8D7E5032B4745EFFA0"))
        #expect(MessageKeyDerivation.quickAckToken(authKey: Self.authKey, plaintextPadded: Self.plaintext, side: .server) == 0xC44C_63AF)
    }

    @Test func encryptedMessageRoundTrip() throws {
        let authKey = SecureRandom.bytes(256)
        let plaintext = SecureRandom.bytes(96)
        let messageKey = MessageKeyDerivation.messageKey(authKey: authKey, plaintextPadded: plaintext, side: .client)
        let (key, iv) = MessageKeyDerivation.aesKeyIV(authKey: authKey, messageKey: messageKey, side: .client)
        let encrypted = try AES256IGE.encrypt(plaintext, key: key, iv: iv)
        // The server derives the same key from the received msg_key and checks it afterwards.
        let (serverKey, serverIV) = MessageKeyDerivation.aesKeyIV(authKey: authKey, messageKey: messageKey, side: .client)
        let decrypted = try AES256IGE.decrypt(encrypted, key: serverKey, iv: serverIV)
        #expect(decrypted == plaintext)
        #expect(MessageKeyDerivation.messageKey(authKey: authKey, plaintextPadded: decrypted, side: .client) == messageKey)
    }
}
