/// Splits the handshake's proof-of-work number `pq` (https://core.telegram.org/mtproto/auth_key,
/// step 3) into its two prime factors with Pollard's rho in Brent's variant. Real-world
/// pq are about 2^62 with 31-bit factors: a few tens of thousands of steps, milliseconds.
public enum PQFactorization {
    /// `pq = p * q` with `p < q`. Throws `factorizationFailed` when pq is below 4, prime,
    /// or has no split into two factors that both fit in 32 bits.
    public static func factorize(_ pq: UInt64) throws -> (p: UInt32, q: UInt32) {
        guard pq >= 4 else { throw CryptoError.factorizationFailed }
        let factor: UInt64
        if pq & 1 == 0 {
            factor = 2
        } else {
            // A prime pq would keep rho searching forever; rule it out first.
            guard try !BigNum(bigEndian(pq)).isProbablePrime(BigNumContext()) else {
                throw CryptoError.factorizationFailed
            }
            guard let found = findFactor(of: pq) else { throw CryptoError.factorizationFailed }
            factor = found
        }
        let (small, large) = (min(factor, pq / factor), max(factor, pq / factor))
        guard small > 1, let p = UInt32(exactly: small), let q = UInt32(exactly: large) else {
            throw CryptoError.factorizationFailed
        }
        return (p, q)
    }

    /// The byte-string form used by `resPQ` and `req_DH_params`: pq in, p and q out, all
    /// big-endian without leading zeros.
    public static func split(pqBytes: [UInt8]) throws -> (p: [UInt8], q: [UInt8]) {
        let significant = pqBytes.strippingLeadingZeros
        guard significant.count <= 8 else { throw CryptoError.factorizationFailed }
        let pq = significant.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        let (p, q) = try factorize(pq)
        return (bigEndian(UInt64(p)), bigEndian(UInt64(q)))
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }.strippingLeadingZeros
    }

    /// A non-trivial factor of the odd composite `n`, trying a few polynomial constants.
    static func findFactor(of n: UInt64) -> UInt64? {
        for constant in UInt64(1)...32 {
            if let factor = brent(n, constant: constant % n, start: (constant * 0x9E37_79B9) % n) {
                return factor
            }
        }
        return nil
    }

    /// Brent's cycle detection on `y -> y^2 + c mod n`, batching `|x - y|` products so a
    /// gcd is taken once per `batch` steps, and backtracking one step at a time when the
    /// batch overshoots to n.
    private static func brent(_ n: UInt64, constant c: UInt64, start: UInt64) -> UInt64? {
        let batch: UInt64 = 128
        let stepLimit: UInt64 = 1 << 24
        func step(_ value: UInt64) -> UInt64 { addMod(mulMod(value, value, n), c, n) }

        var y = start, x = start, saved = start
        var product: UInt64 = 1
        var divisor: UInt64 = 1
        var cycleLength: UInt64 = 1
        while divisor == 1 {
            x = y
            for _ in 0..<cycleLength { y = step(y) }
            var done: UInt64 = 0
            while done < cycleLength && divisor == 1 {
                saved = y
                for _ in 0..<min(batch, cycleLength - done) {
                    y = step(y)
                    product = mulMod(product, x > y ? x - y : y - x, n)
                }
                divisor = gcd(product, n)
                done += batch
            }
            cycleLength *= 2
            if cycleLength > stepLimit { return nil }
        }
        if divisor == n {
            repeat {
                saved = step(saved)
                divisor = gcd(x > saved ? x - saved : saved - x, n)
            } while divisor == 1
        }
        return divisor == n ? nil : divisor
    }

    /// `a * b mod n` through the 128-bit product (no overflow for any 64-bit n).
    private static func mulMod(_ a: UInt64, _ b: UInt64, _ n: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return n.dividingFullWidth(product).remainder
    }

    /// `a + b mod n` for `a, b < n`, without overflowing near 2^64.
    private static func addMod(_ a: UInt64, _ b: UInt64, _ n: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow || sum >= n ? sum &- n : sum
    }

    private static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
