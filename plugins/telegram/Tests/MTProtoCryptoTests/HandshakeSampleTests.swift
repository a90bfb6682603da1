import Testing
@testable import MTProtoCrypto

/// Telegram's worked auth key example, end to end through this module's primitives.
@Suite struct HandshakeSampleTests {
    @Test func factorizesBothPublishedPQValues() throws {
        // Current samples-auth_key page.
        let current = try PQFactorization.factorize(2_694_724_800_268_887_959)
        #expect(current.p == 1_513_098_571 && current.q == 1_780_931_429)
        // The page's earlier revision.
        let earlier = try PQFactorization.factorize(0x17ED_4894_1A08_F981)
        #expect(earlier.p == 0x494C_553B && earlier.q == 0x5391_1073)
    }

    @Test func splitsPQBytesAsSerializedInResPQ() throws {
        let (p, q) = try PQFactorization.split(pqBytes: hex("2565 95ED B776 6797"))
        #expect(p == hex("5A300D4B"))
        #expect(q == hex("6A26DB65"))
    }

    @Test func derivesTemporaryAESKeyAndIV() {
        let (key, iv) = HandshakeKeyDerivation.tmpAESKeyIV(newNonce: TelegramSample.newNonce,
                                                           serverNonce: TelegramSample.serverNonce)
        #expect(key == TelegramSample.tmpAESKey)
        #expect(iv == TelegramSample.tmpAESIV)
    }

    @Test func decryptsServerDHInnerData() throws {
        let decrypted = try AES256IGE.decrypt(TelegramSample.encryptedAnswer,
                                              key: TelegramSample.tmpAESKey, iv: TelegramSample.tmpAESIV)
        #expect(decrypted == TelegramSample.answerWithHash)
        let answer = Array(decrypted[20..<(20 + TelegramSample.serverDHInnerDataLength)])
        #expect(SHA1.hash(answer) == Array(decrypted[0..<20]))
    }

    @Test func encryptsClientDHInnerData() throws {
        let data = TelegramSample.clientDHInnerData
        let dataWithHash = SHA1.hash(data) + data + TelegramSample.clientDHPadding
        let encrypted = try AES256IGE.encrypt(dataWithHash, key: TelegramSample.tmpAESKey, iv: TelegramSample.tmpAESIV)
        #expect(encrypted == TelegramSample.clientDHEncrypted)
        #expect(try AES256IGE.referenceEncrypt(dataWithHash, key: TelegramSample.tmpAESKey,
                                               iv: TelegramSample.tmpAESIV) == TelegramSample.clientDHEncrypted)
    }

    @Test func computesGBAndTheAuthKey() throws {
        let g: [UInt8] = [UInt8(TelegramSample.g)]
        #expect(try BigNumber.modExp(g, TelegramSample.b, TelegramSample.dhPrime) == TelegramSample.gB)
        let authKey = try DiffieHellman.sharedSecret(peerPublic: TelegramSample.gA, secret: TelegramSample.b,
                                                     prime: TelegramSample.dhPrime)
        #expect(authKey == TelegramSample.authKey)
    }

    @Test func acceptsTheSampleDHParameters() throws {
        try DiffieHellman.checkPrimeAndGenerator(prime: TelegramSample.dhPrime, g: TelegramSample.g)
        try DiffieHellman.checkPublicValue(TelegramSample.gA, prime: TelegramSample.dhPrime)
        try DiffieHellman.checkPublicValue(TelegramSample.gB, prime: TelegramSample.dhPrime)
    }
}
