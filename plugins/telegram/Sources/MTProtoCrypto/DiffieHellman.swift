/// The Diffie-Hellman checks and operations of the auth key handshake and SRP
/// (https://core.telegram.org/mtproto/auth_key, "DH key exchange complete" and the
/// security guidelines). Primes, secrets and values are big-endian byte strings.
public enum DiffieHellman {
    /// Size of primes, secrets and auth keys, in bits.
    static let primeBits = 2048
    /// Public values must stay at least 2^(2048-64) away from 0 and from p.
    static let safetyMarginBits = primeBits - 64

    /// Checks that `prime` is a 2048-bit safe prime (p and (p-1)/2 prime) and that `g`
    /// generates the subgroup of order (p-1)/2, via the quadratic-residue conditions:
    /// g=2: p mod 8 = 7; g=3: p mod 3 = 2; g=4: always; g=5: p mod 5 ∈ {1,4};
    /// g=6: p mod 24 ∈ {19,23}; g=7: p mod 7 ∈ {3,5,6}. Other g are rejected.
    ///
    /// The primality tests take tens of milliseconds, so proven primes are remembered
    /// for the process (Telegram's well-known prime is known from the start).
    public static func checkPrimeAndGenerator(prime: [UInt8], g: Int32) throws {
        let p = BigNum(prime)
        guard p.bitCount == primeBits else {
            throw CryptoError.dhCheckFailed("prime has \(p.bitCount) bits, expected \(primeBits)")
        }
        try checkGenerator(g, prime: p)
        let canonical = p.bytes
        if CheckedPrimeCache.contains(canonical) { return }
        try checkSafePrime(p)
        CheckedPrimeCache.insert(canonical)
    }

    /// The uncached safe-prime test (p and (p-1)/2 both probable primes).
    static func checkSafePrime(_ p: BigNum) throws {
        let context = BigNumContext()
        guard try p.isProbablePrime(context) else { throw CryptoError.dhCheckFailed("p is not prime") }
        guard try p.halved().isProbablePrime(context) else {
            throw CryptoError.dhCheckFailed("(p-1)/2 is not prime")
        }
    }

    private static func checkGenerator(_ g: Int32, prime p: BigNum) throws {
        let allowedResidues: (modulus: UInt, residues: Set<UInt>)?
        switch g {
        case 2: allowedResidues = (8, [7])
        case 3: allowedResidues = (3, [2])
        case 4: allowedResidues = nil
        case 5: allowedResidues = (5, [1, 4])
        case 6: allowedResidues = (24, [19, 23])
        case 7: allowedResidues = (7, [3, 5, 6])
        default: throw CryptoError.dhCheckFailed("g = \(g) is not one of 2...7")
        }
        if let (modulus, residues) = allowedResidues {
            let residue = p.remainder(dividingBy: modulus)
            guard residues.contains(residue) else {
                throw CryptoError.dhCheckFailed("g = \(g) needs p mod \(modulus) in \(residues.sorted()), got \(residue)")
            }
        }
    }

    /// Checks a peer's (or our own) public value g^a: `1 < v < p-1` and
    /// `2^(2048-64) <= v <= p - 2^(2048-64)`.
    public static func checkPublicValue(_ value: [UInt8], prime: [UInt8]) throws {
        try checkPublicValue(BigNum(value), prime: BigNum(prime))
    }

    static func checkPublicValue(_ v: BigNum, prime p: BigNum) throws {
        let one = BigNum(word: 1)
        guard v.compare(one) > 0, v.compare(try BigNum.subtract(p, one)) < 0 else {
            throw CryptoError.dhCheckFailed("public value is not in (1, p-1)")
        }
        let margin = try BigNum.powerOfTwo(safetyMarginBits)
        guard v.compare(margin) >= 0, p.compare(margin) > 0,
              v.compare(try BigNum.subtract(p, margin)) <= 0 else {
            throw CryptoError.dhCheckFailed("public value is within 2^\(safetyMarginBits) of 0 or p")
        }
    }

    /// A random 2048-bit secret and `g^secret mod p`, drawn again until the public value
    /// passes `checkPublicValue`. The prime and generator are checked first.
    public static func generateKeyPair(prime: [UInt8], g: Int32) throws -> (secret: [UInt8], publicValue: [UInt8]) {
        try checkPrimeAndGenerator(prime: prime, g: g)
        let p = BigNum(prime)
        let generator = BigNum(word: UInt(g))
        let context = BigNumContext()
        // A failure has probability about 2^-63 per draw; a handful in a row means the
        // random source is broken.
        for _ in 0..<16 {
            let secret = SecureRandom.bytes(primeBits / 8)
            let publicValue = try BigNum.modExp(generator, BigNum(secret), p, context)
            if (try? checkPublicValue(publicValue, prime: p)) != nil {
                guard let padded = publicValue.bytes(paddedTo: primeBits / 8) else { continue }
                return (secret, padded)
            }
        }
        throw CryptoError.dhCheckFailed("no usable public value after 16 draws")
    }

    /// `peerPublic^secret mod p`, left-padded to 256 bytes (the auth key). The peer's
    /// value is checked with `checkPublicValue` first.
    public static func sharedSecret(peerPublic: [UInt8], secret: [UInt8], prime: [UInt8]) throws -> [UInt8] {
        let p = BigNum(prime)
        let peer = BigNum(peerPublic)
        try checkPublicValue(peer, prime: p)
        let shared = try BigNum.modExp(peer, BigNum(secret), p, BigNumContext())
        guard let padded = shared.bytes(paddedTo: max(primeBits / 8, p.byteCount)) else {
            throw CryptoError.dhCheckFailed("shared secret does not fit")
        }
        return padded
    }

    /// Telegram's current 2048-bit DH prime (sent in `server_DH_inner_data` with g = 3 and
    /// in `account.password` for SRP); known safe, so it seeds the checked-prime cache.
    /// The test suite re-proves it with the uncached check. Also a ready prime for the fake DC.
    public static let telegramPrime: [UInt8] = [
        0xC7, 0x1C, 0xAE, 0xB9, 0xC6, 0xB1, 0xC9, 0x04, 0x8E, 0x6C, 0x52, 0x2F, 0x70, 0xF1, 0x3F, 0x73,
        0x98, 0x0D, 0x40, 0x23, 0x8E, 0x3E, 0x21, 0xC1, 0x49, 0x34, 0xD0, 0x37, 0x56, 0x3D, 0x93, 0x0F,
        0x48, 0x19, 0x8A, 0x0A, 0xA7, 0xC1, 0x40, 0x58, 0x22, 0x94, 0x93, 0xD2, 0x25, 0x30, 0xF4, 0xDB,
        0xFA, 0x33, 0x6F, 0x6E, 0x0A, 0xC9, 0x25, 0x13, 0x95, 0x43, 0xAE, 0xD4, 0x4C, 0xCE, 0x7C, 0x37,
        0x20, 0xFD, 0x51, 0xF6, 0x94, 0x58, 0x70, 0x5A, 0xC6, 0x8C, 0xD4, 0xFE, 0x6B, 0x6B, 0x13, 0xAB,
        0xDC, 0x97, 0x46, 0x51, 0x29, 0x69, 0x32, 0x84, 0x54, 0xF1, 0x8F, 0xAF, 0x8C, 0x59, 0x5F, 0x64,
        0x24, 0x77, 0xFE, 0x96, 0xBB, 0x2A, 0x94, 0x1D, 0x5B, 0xCD, 0x1D, 0x4A, 0xC8, 0xCC, 0x49, 0x88,
        0x07, 0x08, 0xFA, 0x9B, 0x37, 0x8E, 0x3C, 0x4F, 0x3A, 0x90, 0x60, 0xBE, 0xE6, 0x7C, 0xF9, 0xA4,
        0xA4, 0xA6, 0x95, 0x81, 0x10, 0x51, 0x90, 0x7E, 0x16, 0x27, 0x53, 0xB5, 0x6B, 0x0F, 0x6B, 0x41,
        0x0D, 0xBA, 0x74, 0xD8, 0xA8, 0x4B, 0x2A, 0x14, 0xB3, 0x14, 0x4E, 0x0E, 0xF1, 0x28, 0x47, 0x54,
        0xFD, 0x17, 0xED, 0x95, 0x0D, 0x59, 0x65, 0xB4, 0xB9, 0xDD, 0x46, 0x58, 0x2D, 0xB1, 0x17, 0x8D,
        0x16, 0x9C, 0x6B, 0xC4, 0x65, 0xB0, 0xD6, 0xFF, 0x9C, 0xA3, 0x92, 0x8F, 0xEF, 0x5B, 0x9A, 0xE4,
        0xE4, 0x18, 0xFC, 0x15, 0xE8, 0x3E, 0xBE, 0xA0, 0xF8, 0x7F, 0xA9, 0xFF, 0x5E, 0xED, 0x70, 0x05,
        0x0D, 0xED, 0x28, 0x49, 0xF4, 0x7B, 0xF9, 0x59, 0xD9, 0x56, 0x85, 0x0C, 0xE9, 0x29, 0x85, 0x1F,
        0x0D, 0x81, 0x15, 0xF6, 0x35, 0xB1, 0x05, 0xEE, 0x2E, 0x4E, 0x15, 0xD0, 0x4B, 0x24, 0x54, 0xBF,
        0x6F, 0x4F, 0xAD, 0xF0, 0x34, 0xB1, 0x04, 0x03, 0x11, 0x9C, 0xD8, 0xE3, 0xB9, 0x2F, 0xCC, 0x5B,
    ]
}
