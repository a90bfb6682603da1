import Testing
@testable import MTProtoCrypto

@Suite struct AES256IGETests {
    /// OpenSSL's test/igetest.c vectors (AES-128 keys), through the internal any-key-size IGE.
    @Test func matchesOpenSSLIGEEncryptVector() throws {
        let key = hex("000102030405060708090a0b0c0d0e0f")
        let iv = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        let plaintext = [UInt8](repeating: 0, count: 32)
        let expected = hex("1a8519a6557be652e9da8e43da4ef4453cf456b4ca488aa383c79c98b34797cb")
        #expect(try IGE.process(plaintext, key: key, iv: iv, encrypting: true) == expected)
        #expect(try IGE.process(expected, key: key, iv: iv, encrypting: false) == plaintext)
    }

    @Test func matchesOpenSSLIGEDecryptVector() throws {
        let key = hex("5468697320697320616e20696d706c65")  // "This is an imple"
        let iv = hex("6d656e746174696f6e206f6620494745206d6f646520666f72204f70656e5353")
        let ciphertext = hex("4c2e204c6574277320686f70652042656e20676f74206974207269676874210a")
        let plaintext = hex("99706487a1cde613bc6de0b6f24b1c7aa448c8b9c3403e3467a8cad89340f53b")
        #expect(try IGE.process(ciphertext, key: key, iv: iv, encrypting: false) == plaintext)
        #expect(try IGE.process(plaintext, key: key, iv: iv, encrypting: true) == ciphertext)
    }

    @Test(arguments: [0, 16, 32, 1024, 65536])
    func roundTripsAndMatchesOpenSSLsOwnIGE(length: Int) throws {
        let key = SecureRandom.bytes(32), iv = SecureRandom.bytes(32), data = SecureRandom.bytes(length)
        let encrypted = try AES256IGE.encrypt(data, key: key, iv: iv)
        #expect(try AES256IGE.decrypt(encrypted, key: key, iv: iv) == data)
        if length > 0 {
            #expect(try AES256IGE.referenceEncrypt(data, key: key, iv: iv) == encrypted)
        }
    }

    @Test func rejectsBadLengths() {
        let key = [UInt8](repeating: 1, count: 32), iv = [UInt8](repeating: 2, count: 32)
        #expect(throws: CryptoError.invalidKeyLength) { try AES256IGE.encrypt([UInt8](repeating: 0, count: 16), key: Array(key.prefix(16)), iv: iv) }
        #expect(throws: CryptoError.invalidKeyLength) { try AES256IGE.decrypt([UInt8](repeating: 0, count: 16), key: key, iv: Array(iv.prefix(16))) }
        #expect(throws: CryptoError.invalidLength("IGE data must be a multiple of 16 bytes, got 15")) {
            try AES256IGE.encrypt([UInt8](repeating: 0, count: 15), key: key, iv: iv)
        }
        #expect(throws: CryptoError.self) { try AES256IGE.referenceEncrypt([1, 2, 3], key: key, iv: iv) }
    }
}

@Suite struct AES256CTRTests {
    /// NIST SP 800-38A, F.5.5 CTR-AES256.Encrypt.
    @Test func matchesNISTVector() throws {
        let key = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
        let counter = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
        let plaintext = hex("""
            6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
            30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710
            """)
        let ciphertext = hex("""
            601ec313775789a5b7a7f504bbf3d228 f443e3ca4d62b59aca84e990cacaf5c5
            2b0930daa23de94ce87017ba2d84988d dfc9c58db67aada613c2dd08457941a6
            """)
        #expect(try AES256CTR(key: key, iv: counter).process(plaintext) == ciphertext)
        #expect(try AES256CTR(key: key, iv: counter).process(ciphertext) == plaintext)
    }

    @Test func streamingEqualsOneShot() throws {
        let key = SecureRandom.bytes(32), iv = SecureRandom.bytes(16), data = SecureRandom.bytes(1000)
        let oneShot = try AES256CTR(key: key, iv: iv).process(data)
        let streaming = try AES256CTR(key: key, iv: iv)
        var output: [UInt8] = []
        var offset = 0
        for size in [1, 3, 16, 17, 100, 863] {
            var chunk = Array(data[offset..<(offset + size)])
            streaming.process(&chunk)
            output += chunk
            offset += size
        }
        #expect(offset == data.count)
        #expect(output == oneShot)
    }

    @Test func rejectsBadKeyOrIV() {
        #expect(throws: CryptoError.invalidKeyLength) { try AES256CTR(key: SecureRandom.bytes(16), iv: SecureRandom.bytes(16)) }
        #expect(throws: CryptoError.invalidKeyLength) { try AES256CTR(key: SecureRandom.bytes(32), iv: SecureRandom.bytes(32)) }
    }
}
