/// Telegram's SRP-2048 for two-step verification, client side
/// (https://core.telegram.org/api/srp, algorithm
/// `passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow`).
/// The server side for the fake DC is `SRP.ServerSession`.
public enum SRP {
    /// What `account.getPassword` returns for the current password.
    public struct Parameters: Sendable {
        public var salt1: [UInt8]
        public var salt2: [UInt8]
        public var g: Int32
        public var p: [UInt8]
        public var srpB: [UInt8]
        public var srpId: Int64

        public init(salt1: [UInt8], salt2: [UInt8], g: Int32, p: [UInt8], srpB: [UInt8], srpId: Int64) {
            self.salt1 = salt1
            self.salt2 = salt2
            self.g = g
            self.p = p
            self.srpB = srpB
            self.srpId = srpId
        }
    }

    /// The fields of `inputCheckPasswordSRP`.
    public struct Answer: Sendable, Equatable {
        public var srpId: Int64
        /// A = g^a mod p, 256 bytes.
        public var a: [UInt8]
        /// M1, 32 bytes.
        public var m1: [UInt8]

        public init(srpId: Int64, a: [UInt8], m1: [UInt8]) {
            self.srpId = srpId
            self.a = a
            self.m1 = m1
        }
    }

    static let pbkdf2Iterations = 100_000

    /// `PH2(password, salt1, salt2)`, the SRP exponent x:
    ///
    ///     SH(data, salt) = SHA256(salt | data | salt)
    ///     PH1 = SH(SH(password, salt1), salt2)
    ///     PH2 = SH(PBKDF2-HMAC-SHA512(PH1, salt1, 100000), salt2)
    public static func passwordHash(password: String, salt1: [UInt8], salt2: [UInt8]) throws -> [UInt8] {
        func saltedHash(_ data: [UInt8], _ salt: [UInt8]) -> [UInt8] { SHA256.hash(salt, data, salt) }
        let ph1 = saltedHash(saltedHash(Array(password.utf8), salt1), salt2)
        let stretched = try PBKDF2.sha512(password: ph1, salt: salt1, iterations: pbkdf2Iterations)
        return saltedHash(stretched, salt2)
    }

    /// The verifier `v = g^x mod p` (256 bytes), what a client sends as
    /// `new_password_hash` and what the fake DC stores to check the password later.
    public static func verifier(password: String, salt1: [UInt8], salt2: [UInt8], g: Int32, p: [UInt8]) throws -> [UInt8] {
        let math = try SRPMath(prime: p, g: g)
        let x = BigNum(try passwordHash(password: password, salt1: salt1, salt2: salt2))
        return try SRPMath.pad(try math.power(math.g, x))
    }

    /// Computes `inputCheckPasswordSRP` for `password`. Checks p and g
    /// (`DiffieHellman.checkPrimeAndGenerator`), `0 < B < p` and the range of `B - k·v`.
    /// `randomA` (the secret a) is for deterministic tests; by default 256 random bytes
    /// are drawn, again if A falls outside the safe range.
    public static func answer(password: String, parameters: Parameters, randomA: [UInt8]? = nil) throws -> Answer {
        let math = try SRPMath(prime: parameters.p, g: parameters.g)
        let srpB = BigNum(parameters.srpB)
        guard math.isInRange(srpB) else { throw CryptoError.srpFailed("B is not in (0, p)") }
        let paddedB = try SRPMath.pad(srpB)

        let x = BigNum(try passwordHash(password: password, salt1: parameters.salt1, salt2: parameters.salt2))
        let kv = try BigNum.modMul(math.k, try math.power(math.g, x), math.p, math.context)
        // The server's g^b, recovered as B - k·v.
        let gb = try BigNum.modSub(srpB, kv, math.p, math.context)
        guard math.isSafeModExpResult(gb) else { throw CryptoError.srpFailed("B - k·v is out of the safe range") }

        let (secret, a, u) = try clientEphemeral(math: math, paddedB: paddedB, randomA: randomA)
        let paddedA = try SRPMath.pad(a)
        let exponent = try BigNum.add(secret, try BigNum.multiply(u, x, math.context))
        let sessionKey = SHA256.hash(try SRPMath.pad(try math.power(gb, exponent)))
        let m1 = math.m1(salt1: parameters.salt1, salt2: parameters.salt2,
                         paddedA: paddedA, paddedB: paddedB, sessionKey: sessionKey)
        return Answer(srpId: parameters.srpId, a: paddedA, m1: m1)
    }

    /// The secret a, A = g^a mod p and u = H(pad(A) | pad(B)), with A in the safe range and u ≠ 0.
    private static func clientEphemeral(
        math: SRPMath, paddedB: [UInt8], randomA: [UInt8]?
    ) throws -> (secret: BigNum, a: BigNum, u: BigNum) {
        for _ in 0..<16 {
            let secret = BigNum(randomA ?? SecureRandom.bytes(256))
            let a = try math.power(math.g, secret)
            let u = math.u(paddedA: try SRPMath.pad(a), paddedB: paddedB)
            if math.isSafeModExpResult(a) && !u.isZero { return (secret, a, u) }
            if randomA != nil { break }
        }
        throw CryptoError.srpFailed("A is out of the safe range")
    }
}
