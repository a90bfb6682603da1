/// Arbitrary-precision unsigned arithmetic over big-endian byte strings, via OpenSSL BN.
/// Results are minimal big-endian (no leading zeros; zero is the empty array) unless a
/// function says otherwise.
public enum BigNumber {
    /// `base^exponent mod modulus`.
    public static func modExp(_ base: [UInt8], _ exponent: [UInt8], _ modulus: [UInt8]) throws -> [UInt8] {
        try BigNum.modExp(BigNum(base), BigNum(exponent), BigNum(modulus), BigNumContext()).bytes
    }

    /// `a * b mod modulus`.
    public static func modMul(_ a: [UInt8], _ b: [UInt8], _ modulus: [UInt8]) throws -> [UInt8] {
        try BigNum.modMul(BigNum(a), BigNum(b), BigNum(modulus), BigNumContext()).bytes
    }

    /// `a + b mod modulus`.
    public static func modAdd(_ a: [UInt8], _ b: [UInt8], _ modulus: [UInt8]) throws -> [UInt8] {
        try BigNum.modAdd(BigNum(a), BigNum(b), BigNum(modulus), BigNumContext()).bytes
    }

    /// `(a - b) mod modulus`, in `0..<modulus`.
    public static func modSub(_ a: [UInt8], _ b: [UInt8], _ modulus: [UInt8]) throws -> [UInt8] {
        try BigNum.modSub(BigNum(a), BigNum(b), BigNum(modulus), BigNumContext()).bytes
    }

    /// Numeric comparison (leading zero bytes do not matter): -1, 0 or 1.
    public static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        BigNum(a).compare(BigNum(b))
    }

    /// `value` left-padded with zeros to `length` bytes (leading zeros stripped first);
    /// throws when the number does not fit.
    public static func leftPadded(_ value: [UInt8], to length: Int) throws -> [UInt8] {
        guard let padded = BigNum(value).bytes(paddedTo: length) else {
            throw CryptoError.invalidLength("number needs more than \(length) bytes")
        }
        return padded
    }
}
