import Testing
import MTProtoCrypto

@Suite struct HashTests {
    @Test func sha1KnownAnswers() {
        #expect(SHA1.hash(Array("abc".utf8)) == hex("a9993e364706816aba3e25717850c26c9cd0d89d"))
        #expect(SHA1.hash([]) == hex("da39a3ee5e6b4b0d3255bfef95601890afd80709"))
        #expect(SHA1.hash(Array("a".utf8), [], Array("bc".utf8)) == SHA1.hash(Array("abc".utf8)))
    }

    @Test func sha256KnownAnswers() {
        #expect(SHA256.hash(Array("abc".utf8)) == hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        #expect(SHA256.hash([]) == hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
        #expect(SHA256.hash(Array("ab".utf8), Array("c".utf8)) == SHA256.hash(Array("abc".utf8)))
    }

    /// Expected value from Python's `hashlib.pbkdf2_hmac('sha512', b'password', b'salt', 1000, 64)`.
    @Test func pbkdf2SHA512KnownAnswer() throws {
        let derived = try PBKDF2.sha512(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 1000)
        #expect(derived == hex("""
            AFE6C5530785B6CC6B1C6453384731BD5EE432EE549FD42FB6695779AD8A1C5B
            F59DE69C48F774EFC4007D5298F9033C0241D5AB69305E7B64ECEEB8D834CFEC
            """))
        #expect(try PBKDF2.sha512(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 1000, length: 16)
                == Array(derived.prefix(16)))
    }

    @Test func pbkdf2RejectsBadArguments() {
        #expect(throws: CryptoError.self) { try PBKDF2.sha512(password: [1], salt: [2], iterations: 0) }
        #expect(throws: CryptoError.self) { try PBKDF2.sha512(password: [1], salt: [2], iterations: 1, length: 0) }
    }

    @Test func pbkdf2AcceptsEmptyPasswordAndSalt() throws {
        #expect(try PBKDF2.sha512(password: [], salt: [], iterations: 1).count == 64)
    }

    @Test func secureRandomLengthsAndVariety() {
        #expect(SecureRandom.bytes(0).isEmpty)
        #expect(SecureRandom.bytes(33).count == 33)
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }
}
