/// The server's proof-of-work challenge (https://core.telegram.org/mtproto/auth_key, step 2):
/// pq, the product of two distinct odd primes p < q. Like Telegram's, the primes have 31
/// bits, so pq is a 61-62 bit number that takes a client milliseconds to split.
struct HandshakeProofOfWork: Sendable, Equatable {
    let p: UInt32
    let q: UInt32
    var pq: UInt64 { UInt64(p) * UInt64(q) }

    /// Big-endian bytes without leading zeros, as `bytes` fields carry them.
    static func bytes(_ value: UInt64) -> [UInt8] {
        Array((0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }.drop { $0 == 0 })
    }

    /// The numeric value of big-endian `bytes` (leading zeros allowed); nil beyond 64 bits.
    static func value(_ bytes: [UInt8]) -> UInt64? {
        let significant = bytes.drop { $0 == 0 }
        guard significant.count <= 8 else { return nil }
        return significant.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    static func generate(random: HandshakeRandom) -> HandshakeProofOfWork {
        let first = randomPrime(random: random)
        var second = randomPrime(random: random)
        while second == first { second = randomPrime(random: random) }
        return HandshakeProofOfWork(p: min(first, second), q: max(first, second))
    }

    /// A random prime in [2^30, 2^31). About one odd number in 10 is prime there.
    private static func randomPrime(random: HandshakeRandom) -> UInt32 {
        while true {
            let candidate = random.bytes(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & 0x7fff_ffff | 0x4000_0001
            if isPrime(candidate) { return candidate }
        }
    }

    /// Deterministic Miller-Rabin: bases 2, 7 and 61 decide every n < 4,759,123,141.
    static func isPrime(_ n: UInt32) -> Bool {
        if n < 2 { return false }
        for small: UInt32 in [2, 3, 5, 7, 11, 13, 61] where n % small == 0 { return n == small }
        let m = UInt64(n)
        var d = m - 1
        var shifts = 0
        while d & 1 == 0 { d >>= 1; shifts += 1 }
        witnesses: for base: UInt64 in [2, 7, 61] {
            var x = power(base, d, m)
            if x == 1 || x == m - 1 { continue }
            for _ in 1..<max(shifts, 1) {
                x = x * x % m
                if x == m - 1 { continue witnesses }
            }
            return false
        }
        return true
    }

    /// `base^exponent mod m` for m < 2^32 (products stay below 2^64).
    private static func power(_ base: UInt64, _ exponent: UInt64, _ m: UInt64) -> UInt64 {
        var (result, base, exponent) = (UInt64(1), base % m, exponent)
        while exponent > 0 {
            if exponent & 1 == 1 { result = result * base % m }
            base = base * base % m
            exponent >>= 1
        }
        return result
    }
}
