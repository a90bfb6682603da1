import Testing
@testable import MTProtoCrypto

@Suite struct RSAKeyTests {
    /// Telegram's long-published server key (the fingerprint example on core.telegram.org,
    /// "server_public_key_fingerprints: c3b42b026ce86b21"), and a current production key.
    /// Fingerprints cross-checked with Telethon 1.39's `_compute_fingerprint`.
    static let telegramKeys: [(pem: String, fingerprint: UInt64)] = [
        ("""
        -----BEGIN RSA PUBLIC KEY-----
        MIIBCgKCAQEAwVACPi9w23mF3tBkdZz+zwrzKOaaQdr01vAbU4E1pvkfj4sqDsm6
        lyDONS789sVoD/xCS9Y0hkkC3gtL1tSfTlgCMOOul9lcixlEKzwKENj1Yz/s7daS
        an9tqw3bfUV/nqgbhGX81v/+7RFAEd+RwFnK7a+XYl9sluzHRyVVaTTveB2GazTw
        Efzk2DWgkBluml8OREmvfraX3bkHZJTKX4EQSjBbbdJ2ZXIsRrYOXfaA+xayEGB+
        8hdlLmAjbCVfaigxX0CDqWeR1yFL9kwd9P0NsZRPsmoqVwMbMu7mStFai6aIhc3n
        Slv8kg9qv1m6XHVQY3PnEw+QQtqSIXklHwIDAQAB
        -----END RSA PUBLIC KEY-----
        """, 0xc3b4_2b02_6ce8_6b21),
        ("""
        -----BEGIN RSA PUBLIC KEY-----
        MIIBCgKCAQEAruw2yP/BCcsJliRoW5eBVBVle9dtjJw+OYED160Wybum9SXtBBLX
        riwt4rROd9csv0t0OHCaTmRqBcQ0J8fxhN6/cpR1GWgOZRUAiQxoMnlt0R93LCX/
        j1dnVa/gVbCjdSxpbrfY2g2L4frzjJvdl84Kd9ORYjDEAyFnEA7dD556OptgLQQ2
        e2iVNq8NZLYTzLp5YpOdO1doK+ttrltggTCy5SrKeLoCPPbOgGsdxJxyz5KKcZnS
        Lj16yE5HvJQn0CNpRdENvRUXe6tBP78O39oJ8BTHp9oIjd6XWXAsp2CvK45Ol8wF
        XGF710w9lwCGNbmNxNYhtIkdqfsEcwR5JwIDAQAB
        -----END RSA PUBLIC KEY-----
        """, 0x0bc3_5f35_09f7_b7a5),
    ]

    @Test func fingerprintsTelegramKeys() throws {
        for (pem, fingerprint) in Self.telegramKeys {
            let key = try RSAPublicKey(pem: pem)
            #expect(key.fingerprint == Int64(bitPattern: fingerprint))
            #expect(key.modulus.count == 256)
            #expect(key.exponent == [0x01, 0x00, 0x01])
        }
    }

    @Test func pemRoundTripsThroughPKCS1() throws {
        for (pem, _) in Self.telegramKeys {
            let key = try RSAPublicKey(pem: pem)
            #expect(key.pem.trimmingWhitespace == pem.trimmingWhitespace)
            #expect(try RSAPublicKey(pem: key.pem) == key)
        }
    }

    @Test func readsPKCS1AndSPKIPublicKeysAlike() throws {
        let pkcs1 = try RSAPublicKey(pem: TestRSAKey.publicPKCS1)
        let spki = try RSAPublicKey(pem: TestRSAKey.publicSPKI)
        #expect(pkcs1 == spki)
        #expect(pkcs1.fingerprint == TestRSAKey.fingerprint)
        #expect(pkcs1.pem.trimmingWhitespace == TestRSAKey.publicPKCS1.trimmingWhitespace)
    }

    @Test func readsPKCS1AndPKCS8PrivateKeysAlike() throws {
        let pkcs1 = try RSAPrivateKey(pem: TestRSAKey.privatePKCS1)
        let pkcs8 = try RSAPrivateKey(pem: TestRSAKey.privatePKCS8)
        #expect(pkcs1.publicKey == pkcs8.publicKey)
        #expect(pkcs1.publicKey == (try RSAPublicKey(pem: TestRSAKey.publicSPKI)))
        #expect(pkcs1.pem.trimmingWhitespace == TestRSAKey.privatePKCS1.trimmingWhitespace)
        #expect(try RSAPrivateKey(pem: pkcs8.pem).publicKey == pkcs8.publicKey)
    }

    @Test func rejectsMalformedPEM() {
        #expect(throws: CryptoError.invalidPEM) { try RSAPublicKey(pem: "not a key") }
        #expect(throws: CryptoError.invalidPEM) {
            try RSAPublicKey(pem: "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n")
        }
        #expect(throws: CryptoError.invalidPEM) { try RSAPublicKey(pem: TestRSAKey.privatePKCS1) }
        #expect(throws: CryptoError.invalidPEM) { try RSAPrivateKey(pem: TestRSAKey.publicPKCS1) }
    }

    @Test func rawRSARoundTripsAndRefusesValuesNotBelowTheModulus() throws {
        let key = try RSAPrivateKey(pem: TestRSAKey.privatePKCS1)
        let message = [UInt8](repeating: 0, count: 1) + SecureRandom.bytes(255)
        let encrypted = try key.publicKey.encryptRaw(message)
        #expect(encrypted.count == 256)
        #expect(try key.decryptRaw(encrypted) == message)
        #expect(throws: CryptoError.self) { try key.publicKey.encryptRaw(key.publicKey.modulus) }
        #expect(throws: CryptoError.self) { try key.decryptRaw([UInt8](repeating: 0xff, count: 256)) }
    }

    @Test func modulusAndExponentAreNormalized() {
        let key = RSAPublicKey(modulus: [0, 0, 0xC3, 0x01], exponent: [0, 3])
        #expect(key.modulus == [0xC3, 0x01])
        #expect(key.exponent == [3])
        #expect(key == RSAPublicKey(modulus: [0xC3, 0x01], exponent: [3]))
    }

    @Test func generatesUsableKeys() throws {
        let key = try RSAPrivateKey.generate(bits: 1024)
        #expect(key.publicKey.modulus.count == 128)
        let reloaded = try RSAPrivateKey(pem: key.pem)
        #expect(reloaded.publicKey == key.publicKey)
        let block = [UInt8](repeating: 0x42, count: 100)
        #expect(try reloaded.decryptRaw(key.publicKey.encryptRaw(block)) == [UInt8](repeating: 0, count: 156) + block)
        #expect(throws: CryptoError.self) { try RSAPrivateKey.generate(bits: 100) }
    }
}

@Suite struct RSAPadTests {
    static let key: RSAPrivateKey = try! RSAPrivateKey(pem: TestRSAKey.privatePKCS1)

    /// Expected ciphertext from an independent Python implementation of the steps in
    /// https://core.telegram.org/mtproto/auth_key step 4.1 (hashlib, Telethon's AES-IGE,
    /// Python `pow`), with the same fixed padding and temporary key.
    @Test func matchesIndependentImplementation() throws {
        let data = Array(UInt8(0)..<100)
        let padding = (0..<92).map { UInt8(truncatingIfNeeded: $0 * 5 + 1) }
        let temporaryKey = (0..<32).map { UInt8(truncatingIfNeeded: $0 * 11 + 2) }
        let expected = hex("""
            B2F3D72970B2C992DB95C9C57E25BF2761E635C44ACC4B265E935DF1493F21B5F3A668900395684DF21D79FD496C7AB3
            B579570D9C5F15EE9BF2B7205549E74E353AD43BC348A7F56A72D4FC07F46D7632BEF0DA8C635E354889621CD306F42B
            4D88E0524282547C331B1314B6CC470F9B8CED198D4685CB1EA9D162350360A298DFDA7F3D5D6622CA587F1B3A16F521
            68BC640D1152A160104E050C60336DF3B1507B579F274DEC9343C45C3733F3A87B20D3E463B30613D023426F09C86CFB
            D3BFE62959A29B699431A4F056E440518DEB1BE5EB84F5F85B3F0BC2990675296F9AC355243B35C1F7EFE4D157ECE250
            8AEF8871CBA9FB00EB9ED80C88F68FF0
            """)
        let encrypted = try RSAPad.encrypt(data, with: Self.key.publicKey, padding: padding, temporaryKeys: { temporaryKey })
        #expect(encrypted == expected)
        #expect(try RSAPad.decrypt(encrypted, with: Self.key) == data + padding)
    }

    @Test(arguments: [0, 1, 96, 144])
    func roundTrips(length: Int) throws {
        let data = SecureRandom.bytes(length)
        let encrypted = try RSAPad.encrypt(data, with: Self.key.publicKey)
        #expect(encrypted.count == 256)
        let decrypted = try RSAPad.decrypt(encrypted, with: Self.key)
        #expect(decrypted.count == 192)
        #expect(Array(decrypted.prefix(length)) == data)
    }

    @Test func roundTripsWithAFreshKey() throws {
        let key = try RSAPrivateKey.generate()
        let data = SecureRandom.bytes(144)
        #expect(Array(try RSAPad.decrypt(RSAPad.encrypt(data, with: key.publicKey), with: key).prefix(144)) == data)
    }

    @Test func rejectsOversizedDataAndSmallKeys() throws {
        #expect(throws: CryptoError.self) { try RSAPad.encrypt(SecureRandom.bytes(145), with: Self.key.publicKey) }
        let small = RSAPublicKey(modulus: [UInt8](repeating: 0xff, count: 128), exponent: [3])
        #expect(throws: CryptoError.self) { try RSAPad.encrypt([1, 2, 3], with: small) }
    }

    @Test func decryptRejectsTamperingAndBadLengths() throws {
        var encrypted = try RSAPad.encrypt(SecureRandom.bytes(100), with: Self.key.publicKey)
        encrypted[200] ^= 1
        #expect(throws: CryptoError.rsaFailure("RSA_PAD hash mismatch")) { try RSAPad.decrypt(encrypted, with: Self.key) }
        #expect(throws: CryptoError.self) { try RSAPad.decrypt(Array(encrypted.prefix(255)), with: Self.key) }
        // A block not below the modulus cannot be a valid ciphertext.
        #expect(throws: CryptoError.self) { try RSAPad.decrypt([UInt8](repeating: 0xff, count: 256), with: Self.key) }
    }

    @Test func oldSchemeRoundTrips() throws {
        let data = SecureRandom.bytes(180)
        let encrypted = try RSAPad.encryptOld(data, with: Self.key.publicKey)
        #expect(encrypted.count == 256)
        let (hash, dataWithPadding) = try RSAPad.decryptOldWithHash(encrypted, with: Self.key)
        #expect(dataWithPadding.count == 235)
        #expect(Array(dataWithPadding.prefix(180)) == data)
        #expect(hash == SHA1.hash(data))
        #expect(try RSAPad.decryptOld(encrypted, with: Self.key) == dataWithPadding)
    }

    @Test func oldSchemeRejectsBadInput() throws {
        #expect(throws: CryptoError.self) { try RSAPad.encryptOld(SecureRandom.bytes(236), with: Self.key.publicKey) }
        #expect(throws: CryptoError.self) { try RSAPad.decryptOld(SecureRandom.bytes(12), with: Self.key) }
        // A full 256-byte plaintext (top byte non-zero) is not an old-scheme block.
        let fullBlock = try Self.key.publicKey.encryptRaw([0x01] + SecureRandom.bytes(255))
        #expect(throws: CryptoError.self) { try RSAPad.decryptOld(fullBlock, with: Self.key) }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
