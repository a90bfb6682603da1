import Testing
import MTProtoCrypto

@Suite struct PQFactorizationTests {
    /// Products of two random 31-bit primes, like the pq Telegram servers send.
    @Test func factorizesRandomProductsOfTwo31BitPrimes() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let a = Self.randomPrime(in: (1 << 30)..<(1 << 31), using: &generator)
            let b = Self.randomPrime(in: (1 << 30)..<(1 << 31), using: &generator)
            let (p, q) = try PQFactorization.factorize(UInt64(a) * UInt64(b))
            #expect(p == min(a, b) && q == max(a, b))
        }
    }

    @Test func factorizesLargestRealisticInputQuickly() throws {
        let a: UInt32 = 2_147_483_629, b: UInt32 = 2_147_483_647  // the two largest 31-bit primes
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let (p, q) = try PQFactorization.factorize(UInt64(a) * UInt64(b))
            #expect(p == a && q == b)
        }
        #expect(elapsed < .milliseconds(500))  // milliseconds in release; generous for debug builds
    }

    @Test func handlesEvenAndSmallInputs() throws {
        #expect(try PQFactorization.factorize(4) == (2, 2))
        #expect(try PQFactorization.factorize(15) == (3, 5))
        #expect(try PQFactorization.factorize(2 * 2_147_483_647) == (2, 2_147_483_647))
    }

    @Test func rejectsUnsplittableInputs() {
        for pq: UInt64 in [0, 1, 2, 3, 2_147_483_647, 18_446_744_073_709_551_557 /* prime */, 1 << 63] {
            #expect(throws: CryptoError.factorizationFailed) { try PQFactorization.factorize(pq) }
        }
        #expect(throws: CryptoError.factorizationFailed) { try PQFactorization.split(pqBytes: [1, 2, 3, 4, 5, 6, 7, 8, 9]) }
    }

    @Test func splitIgnoresLeadingZeroBytes() throws {
        let (p, q) = try PQFactorization.split(pqBytes: [0, 0x17, 0xED, 0x48, 0x94, 0x1A, 0x08, 0xF9, 0x81])
        #expect(p == [0x49, 0x4C, 0x55, 0x3B] && q == [0x53, 0x91, 0x10, 0x73])
    }

    private static func randomPrime(in range: Range<UInt32>, using generator: inout SystemRandomNumberGenerator) -> UInt32 {
        while true {
            let candidate = UInt32.random(in: range, using: &generator) | 1
            if isPrime(candidate) { return candidate }
        }
    }

    private static func isPrime(_ n: UInt32) -> Bool {
        if n < 2 { return false }
        var divisor: UInt32 = 2
        while divisor * divisor <= n {
            if n % divisor == 0 { return false }
            divisor += 1
        }
        return true
    }
}
