import Testing
@testable import MTProtoCrypto

@Suite struct DiffieHellmanTests {
    static let prime = DiffieHellman.telegramPrime
    /// A 2048-bit prime from `openssl prime -generate -bits 2048` (not a safe prime:
    /// (p-1)/2 is even). p mod 3 = 2, so only the safe-prime test can reject it for g = 3.
    static let unsafePrime = hex("""
        F813FCF4407CD59F8782D4E3AFB172C5AF92B10A46B5296667324DAF2B67D28EA67F2D6B4B8967765C050210B68B65E8
        F2ECDD890C3CDBFC23C4ED459E7CD4C9857566B5DAA0C77F5B6F6141E5B60BB5D6F0F3C208AAA9CAEEDCB172031E4581
        DE70992679C40275B6E22CCE1E17C1159F9CFC246B464375FD007E2A846C07251D32CBFACC4F841007BF9D048CC10737
        0029A004367D32BCEBE20B91EA065B4ECD19A0F307855718FF7AD7D3F9CB96AF653921B1149EE2F59AEC4057DED31E7B
        CD19F8C192A29CD718A650C666D5F3B4510F9D110D51213CE6037989D6C37869E6C406F8AD8E1D53D1F818938E5465C9
        136FE94B5371C84B4B173741DAA80279
        """)

    @Test func telegramPrimeIsASafePrimeWithoutTheCache() throws {
        try DiffieHellman.checkSafePrime(BigNum(Self.prime))
        #expect(Self.prime == TelegramSample.dhPrime)
    }

    @Test func rejectsPrimesThatAreNotSafe() {
        #expect(throws: CryptoError.dhCheckFailed("(p-1)/2 is not prime")) {
            try DiffieHellman.checkPrimeAndGenerator(prime: Self.unsafePrime, g: 3)
        }
        var composite = Self.prime
        composite[255] += 6  // p + 6: still odd, 2048 bits and 2 mod 3, but composite
        #expect(throws: CryptoError.dhCheckFailed("p is not prime")) {
            try DiffieHellman.checkPrimeAndGenerator(prime: composite, g: 3)
        }
        #expect(throws: CryptoError.self) { try DiffieHellman.checkPrimeAndGenerator(prime: Array(Self.prime.dropFirst()), g: 3) }
    }

    /// Telegram's prime: p mod 8 = 3, p mod 3 = 2, p mod 5 = 3, p mod 24 = 11, p mod 7 = 6.
    @Test func checksGeneratorConditions() throws {
        for g: Int32 in [3, 4, 7] { try DiffieHellman.checkPrimeAndGenerator(prime: Self.prime, g: g) }
        for g: Int32 in [2, 5, 6] {
            #expect(throws: CryptoError.self) { try DiffieHellman.checkPrimeAndGenerator(prime: Self.prime, g: g) }
        }
        for g: Int32 in [-1, 0, 1, 8, 256] {
            #expect(throws: CryptoError.self) { try DiffieHellman.checkPrimeAndGenerator(prime: Self.prime, g: g) }
        }
    }

    @Test func publicValueBoundsAreInclusiveAtTheSafetyMargin() throws {
        let margin = try BigNum.powerOfTwo(2048 - 64)
        let one = BigNum(word: 1)
        let p = BigNum(Self.prime)
        let accepted = [margin, try BigNum.subtract(p, margin)]
        let rejected = [BigNum(word: 0), one, BigNum(word: 2), try BigNum.subtract(margin, one),
                        try BigNum.add(try BigNum.subtract(p, margin), one), try BigNum.subtract(p, one), p,
                        try BigNum.add(p, one)]
        for value in accepted { try DiffieHellman.checkPublicValue(value.bytes, prime: Self.prime) }
        for value in rejected {
            #expect(throws: CryptoError.self) { try DiffieHellman.checkPublicValue(value.bytes, prime: Self.prime) }
        }
    }

    @Test func keyPairsAgreeOnTheSharedSecret() throws {
        let client = try DiffieHellman.generateKeyPair(prime: Self.prime, g: 3)
        let server = try DiffieHellman.generateKeyPair(prime: Self.prime, g: 3)
        #expect(client.publicValue.count == 256 && client.secret.count == 256)
        let clientView = try DiffieHellman.sharedSecret(peerPublic: server.publicValue, secret: client.secret, prime: Self.prime)
        let serverView = try DiffieHellman.sharedSecret(peerPublic: client.publicValue, secret: server.secret, prime: Self.prime)
        #expect(clientView == serverView)
        #expect(clientView.count == 256)
    }

    @Test func sharedSecretRejectsUnsafePeerValues() {
        #expect(throws: CryptoError.self) { try DiffieHellman.sharedSecret(peerPublic: [1], secret: [5], prime: Self.prime) }
    }

    @Test func generateKeyPairChecksTheParameters() {
        #expect(throws: CryptoError.self) { try DiffieHellman.generateKeyPair(prime: Self.prime, g: 2) }
    }
}

@Suite struct BigNumberTests {
    @Test func arithmetic() throws {
        #expect(try BigNumber.modExp([3], [200], [0x01, 0x00, 0x01]) == [0x8F, 0x8E])  // 3^200 mod 65537 = 36750
        #expect(try BigNumber.modMul([0x10], [0x10], [0x0F]) == [0x01])
        #expect(try BigNumber.modAdd([0x0E], [0x03], [0x0F]) == [0x02])
        #expect(try BigNumber.modSub([0x01], [0x03], [0x0F]) == [0x0D])
        #expect(try BigNumber.modExp([5], [0], [7]) == [1])
        #expect(throws: CryptoError.self) { try BigNumber.modExp([5], [1], []) }
    }

    @Test func compareIgnoresLeadingZeros() {
        #expect(BigNumber.compare([0, 0, 1], [1]) == 0)
        #expect(BigNumber.compare([1, 0], [0xff]) == 1)
        #expect(BigNumber.compare([], [1]) == -1)
    }

    @Test func leftPadding() throws {
        #expect(try BigNumber.leftPadded([0, 1, 2], to: 4) == [0, 0, 1, 2])
        #expect(throws: CryptoError.self) { try BigNumber.leftPadded([1, 2, 3], to: 2) }
    }
}
