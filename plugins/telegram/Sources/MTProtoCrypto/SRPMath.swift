/// The arithmetic shared by the SRP client (`SRP.answer`) and server (`SRP.ServerSession`),
/// per https://core.telegram.org/api/srp. Numbers enter hashes left-padded to 256 bytes.
struct SRPMath {
    let p: BigNum
    let g: BigNum
    let context = BigNumContext()
    /// `pad(p)` and `pad(g)`.
    let paddedP: [UInt8]
    let paddedG: [UInt8]

    init(prime: [UInt8], g: Int32) throws {
        try DiffieHellman.checkPrimeAndGenerator(prime: prime, g: g)
        p = BigNum(prime)
        self.g = BigNum(word: UInt(g))
        paddedP = try Self.pad(p)
        paddedG = try Self.pad(self.g)
    }

    static func pad(_ number: BigNum) throws -> [UInt8] {
        guard let bytes = number.bytes(paddedTo: 256) else { throw CryptoError.srpFailed("number exceeds 2048 bits") }
        return bytes
    }

    /// `k = H(pad(p) | pad(g))`.
    var k: BigNum { BigNum(SHA256.hash(paddedP, paddedG)) }

    /// `u = H(pad(A) | pad(B))`.
    func u(paddedA: [UInt8], paddedB: [UInt8]) -> BigNum { BigNum(SHA256.hash(paddedA, paddedB)) }

    func power(_ base: BigNum, _ exponent: BigNum) throws -> BigNum {
        try BigNum.modExp(base, exponent, p, context)
    }

    /// Telegram's range check for g^a, g^b and B - k·v ("is good mod exp first"): both the
    /// value and p minus it have at least 2048-64 bits.
    func isSafeModExpResult(_ value: BigNum) -> Bool {
        guard value.compare(p) < 0, let difference = try? BigNum.subtract(p, value) else { return false }
        let minimumBits = DiffieHellman.safetyMarginBits
        return difference.bitCount >= minimumBits && value.bitCount >= minimumBits && value.byteCount <= 256
    }

    /// `0 < value < p`.
    func isInRange(_ value: BigNum) -> Bool { !value.isZero && value.compare(p) < 0 }

    /// `M1 = H(H(pad(p)) xor H(pad(g)) | H(salt1) | H(salt2) | pad(A) | pad(B) | K)`.
    func m1(salt1: [UInt8], salt2: [UInt8], paddedA: [UInt8], paddedB: [UInt8], sessionKey: [UInt8]) -> [UInt8] {
        let pgXor = zip(SHA256.hash(paddedP), SHA256.hash(paddedG)).map { $0 ^ $1 }
        return SHA256.hash(pgXor, SHA256.hash(salt1), SHA256.hash(salt2), paddedA, paddedB, sessionKey)
    }
}
