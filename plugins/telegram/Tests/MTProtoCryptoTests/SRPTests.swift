import Testing
import MTProtoCrypto

/// Fixed vectors computed once with Telethon 1.39 (`telethon.password.compute_hash` and
/// `compute_check`, its `os.urandom` patched to return `secretA`); B made in Python as
/// `(k·v + g^b) mod p` from `secretB`. Telegram's prime, g = 3.
@Suite struct SRPTests {
    static let password = "correct horse battery staple ü"
    static let salt1 = Array(UInt8(1)...40)
    static let salt2 = Array(UInt8(0xA0)..<0xB0)
    static let g: Int32 = 3
    static let p = DiffieHellman.telegramPrime
    static let srpId: Int64 = 0x1234_5678_90AB_CDEF
    static let passwordHash = hex("F92D66C786F5254A1B63B669F0503158979192C4FA0FF0E08C383FE4B37ED188")
    static let verifier = hex("""
        AE9C1DE0AD59EECF959AC65FAA7910CC99922E4B1220C7EFC6D181E186CBA83330323BB0C1AF28278666F4D9222D8974
        A25475F51451EB0EB8D43908FDF1A2646A64C97805C18577C38416E118265C7341F76B211BC6C3AA9FDA6A11B76432FC
        BB0CE181AD088C1B31C6EAF417FE867510F9434B11DC219DAE9B46870191706BA0C9410E17FF28F640700B1F1F101877
        EA1D4097D39A93437AF33FA2EFFF0CB47E611F73FA0A448F4E5CB7A6224A343FB6B499F95143B8515C7058AB2FABC038
        10CC77BCB9579793FA56039F9F53D55021D7B8DEB43A5AD3A7D7965C8DBAFEAFF10616C9982AE826BE3326D2F52FCC9C
        314C2EA3ACF9920A6D4686D923BA6428
        """)
    static let secretB = (0..<256).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
    static let srpB = hex("""
        0719ECE6365637D726928F730A9F09C7B21C8DAD8346C1841E7DC709E9422ABF2E76C7B022E46252E9EBC0E32A855546
        99D124473A1B2B620E6044729442466ACB6BBFE26228424A790BE45A165B521B9CB44D56C82225E2449BD8FEABE32157
        E61670700267490AC17B0F9C9AB8D8C4B11FA2735A9E2CF85C5298AD270A64293F65709DB9401666766E62A9874CE122
        B7BADAAE758AF0C2B8FD7FEDF14593F4DCB5876EF16ADE0DAE96EE923273FADE1984FCC1F62197AB53C5D9090DB4FD41
        6B12521880C2BB314498A14D721EE088B567B223A0EB75E0DE5A181B0B655CB2340361616310937DC89AB6DCF960F42A
        4383242B7417F70ED848E8C7E26C0AE8
        """)
    static let secretA = (0..<256).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }
    static let srpA = hex("""
        9304912DD01ED7A95D976F2BC7707CA99022165C315B84929EED67953750E4F10BD94924CDB215FD156B3D6B435BA0CE
        2C4E820D9D040074E5315064CB7FA4E4D15F5E23AB9607108C1A3F4FC034F1F6F05F1D797534B725CB6C988E57BF30E6
        72B31FC95FF68D6E8765247ECDB36DF4540AAC08B481711AE4A53062DE3A602785E92275A3494683C3C4918BC8B64DB0
        C38CB653A4F3C72D94B8128F8909AD16DA38027A837C5B8A740E295EA3F5DF7602C6FBEE35D5201957E3DDE9B1B7D748
        C2C4F5AB7BFD9464AE02062AEA9D642B067FEA326B5BFC5D3EF14A17C0A767146E0B4096F0D7180CE93BFBDED69FCC8D
        79582B0E487DF2CE67380E38A75FAC6C
        """)
    static let m1 = hex("C57CB428263FF7572A52DDFEDC1A519C2CD1BAF8ECEF8F6FD849FF02C68D786A")

    static var parameters: SRP.Parameters {
        SRP.Parameters(salt1: salt1, salt2: salt2, g: g, p: p, srpB: srpB, srpId: srpId)
    }

    @Test func passwordHashMatchesTelethon() throws {
        #expect(try SRP.passwordHash(password: Self.password, salt1: Self.salt1, salt2: Self.salt2) == Self.passwordHash)
    }

    @Test func verifierMatchesPython() throws {
        #expect(try SRP.verifier(password: Self.password, salt1: Self.salt1, salt2: Self.salt2, g: Self.g, p: Self.p) == Self.verifier)
    }

    @Test func answerMatchesTelethon() throws {
        let answer = try SRP.answer(password: Self.password, parameters: Self.parameters, randomA: Self.secretA)
        #expect(answer == SRP.Answer(srpId: Self.srpId, a: Self.srpA, m1: Self.m1))
    }

    @Test func serverSessionReproducesBAndAcceptsTheAnswer() throws {
        let session = try SRP.ServerSession(verifier: Self.verifier, g: Self.g, p: Self.p,
                                            salt1: Self.salt1, salt2: Self.salt2, randomB: Self.secretB)
        #expect(session.srpB == Self.srpB)
        #expect(session.check(a: Self.srpA, m1: Self.m1))
        var wrongM1 = Self.m1
        wrongM1[0] ^= 1
        #expect(!session.check(a: Self.srpA, m1: wrongM1))
        #expect(!session.check(a: [1], m1: Self.m1))
        #expect(!session.check(a: Self.srpA, m1: Array(Self.m1.prefix(16))))
    }

    @Test func randomExchangeSucceedsOnlyWithTheRightPassword() throws {
        let salt1 = SecureRandom.bytes(40), salt2 = SecureRandom.bytes(16)
        let verifier = try SRP.verifier(password: "s3cret", salt1: salt1, salt2: salt2, g: Self.g, p: Self.p)
        let session = try SRP.ServerSession(verifier: verifier, g: Self.g, p: Self.p, salt1: salt1, salt2: salt2)
        let parameters = SRP.Parameters(salt1: salt1, salt2: salt2, g: Self.g, p: Self.p, srpB: session.srpB, srpId: 7)
        let right = try SRP.answer(password: "s3cret", parameters: parameters)
        #expect(right.srpId == 7 && right.a.count == 256 && right.m1.count == 32)
        #expect(session.check(a: right.a, m1: right.m1))
        let wrong = try SRP.answer(password: "s3cret!", parameters: parameters)
        #expect(!session.check(a: wrong.a, m1: wrong.m1))
    }

    @Test func answerRejectsBadParameters() {
        var zeroB = Self.parameters
        zeroB.srpB = [0]
        #expect(throws: CryptoError.self) { try SRP.answer(password: Self.password, parameters: zeroB) }
        var bAboveP = Self.parameters
        bAboveP.srpB = [UInt8](repeating: 0xff, count: 256)
        #expect(throws: CryptoError.self) { try SRP.answer(password: Self.password, parameters: bAboveP) }
        var badG = Self.parameters
        badG.g = 2
        #expect(throws: CryptoError.self) { try SRP.answer(password: Self.password, parameters: badG) }
        var shortPrime = Self.parameters
        shortPrime.p = Array(Self.p.dropFirst())
        #expect(throws: CryptoError.self) { try SRP.answer(password: Self.password, parameters: shortPrime) }
        #expect(throws: CryptoError.self) {
            try SRP.answer(password: Self.password, parameters: Self.parameters, randomA: [1])  // A = 3: unsafe
        }
    }
}
