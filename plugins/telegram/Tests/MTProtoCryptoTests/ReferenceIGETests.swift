import MTProtoCrypto
import Testing

/// The benchmark's reference (OpenSSL's own AES_ige_encrypt) agrees with our IGE both ways.
@Suite struct ReferenceIGETests {
    @Test func referenceAndOurIGEAgree() throws {
        let key = SecureRandom.bytes(32), iv = SecureRandom.bytes(32), data = SecureRandom.bytes(4096)
        let ours = try AES256IGE.encrypt(data, key: key, iv: iv)
        #expect(try AES256IGE.referenceEncrypt(data, key: key, iv: iv) == ours)
        #expect(try AES256IGE.referenceDecrypt(ours, key: key, iv: iv) == data)
        #expect(try AES256IGE.decrypt(ours, key: key, iv: iv) == data)
    }
}
