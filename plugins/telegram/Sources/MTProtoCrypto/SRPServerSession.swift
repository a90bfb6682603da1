extension SRP {
    /// The server half of one SRP exchange, for the fake DC: from the stored verifier v it
    /// makes B (for `account.password.srp_B`) and then checks the client's A and M1.
    public struct ServerSession: Sendable {
        /// B = (k·v + g^b) mod p, 256 bytes.
        public let srpB: [UInt8]
        private let verifier: [UInt8]
        private let secret: [UInt8]
        private let g: Int32
        private let p: [UInt8]
        private let salt1: [UInt8]
        private let salt2: [UInt8]

        /// `randomB` (the secret b) is for deterministic tests; by default 256 random bytes.
        public init(verifier: [UInt8], g: Int32, p: [UInt8], salt1: [UInt8], salt2: [UInt8], randomB: [UInt8]? = nil) throws {
            let math = try SRPMath(prime: p, g: g)
            let v = BigNum(verifier)
            guard math.isInRange(v) else { throw CryptoError.srpFailed("verifier is not in (0, p)") }
            let kv = try BigNum.modMul(math.k, v, math.p, math.context)
            var chosen: (secret: [UInt8], b: BigNum)?
            for _ in 0..<16 {
                let secret = randomB ?? SecureRandom.bytes(256)
                let gb = try math.power(math.g, BigNum(secret))
                let b = try BigNum.modAdd(kv, gb, math.p, math.context)
                if math.isSafeModExpResult(gb) && math.isInRange(b) {
                    chosen = (secret, b)
                    break
                }
                if randomB != nil { break }
            }
            guard let chosen else { throw CryptoError.srpFailed("g^b is out of the safe range") }
            srpB = try SRPMath.pad(chosen.b)
            secret = chosen.secret
            self.verifier = verifier
            self.g = g
            self.p = p
            self.salt1 = salt1
            self.salt2 = salt2
        }

        /// Whether the client's `A` and `M1` prove knowledge of the password:
        /// S = (A · v^u)^b mod p, K = H(S), and M1 recomputed from them.
        public func check(a: [UInt8], m1: [UInt8]) -> Bool {
            guard let expected = try? expectedM1(a: a), expected.count == m1.count else { return false }
            // Constant-time comparison: the whole digest is always examined.
            return zip(expected, m1).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
        }

        private func expectedM1(a: [UInt8]) throws -> [UInt8] {
            let math = try SRPMath(prime: p, g: g)
            let aNumber = BigNum(a)
            guard math.isSafeModExpResult(aNumber) else { throw CryptoError.srpFailed("A is out of the safe range") }
            let paddedA = try SRPMath.pad(aNumber)
            let u = math.u(paddedA: paddedA, paddedB: srpB)
            guard !u.isZero else { throw CryptoError.srpFailed("u is zero") }
            let base = try BigNum.modMul(aNumber, try math.power(BigNum(verifier), u), math.p, math.context)
            let sessionKey = SHA256.hash(try SRPMath.pad(try math.power(base, BigNum(secret))))
            return math.m1(salt1: salt1, salt2: salt2, paddedA: paddedA, paddedB: srpB, sessionKey: sessionKey)
        }
    }
}
