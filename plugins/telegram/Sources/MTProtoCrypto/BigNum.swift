import COpenSSL

/// Owns one OpenSSL `BIGNUM` (unsigned values only in this module) and frees it.
/// Internal: the public surface speaks big-endian `[UInt8]`.
final class BigNum {
    let pointer: OpaquePointer

    init() {
        guard let pointer = BN_new() else { fatalError("BN_new: \(OpenSSL.lastError())") }
        self.pointer = pointer
    }

    /// From a big-endian unsigned byte string (empty means zero).
    init(_ bytes: [UInt8]) {
        let pointer = bytes.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        guard let pointer else { fatalError("BN_bin2bn: \(OpenSSL.lastError())") }
        self.pointer = pointer
    }

    convenience init(word: UInt) {
        self.init()
        guard BN_set_word(pointer, word) == 1 else { fatalError("BN_set_word: \(OpenSSL.lastError())") }
    }

    deinit { BN_clear_free(pointer) }

    var bitCount: Int { Int(BN_num_bits(pointer)) }
    var byteCount: Int { (bitCount + 7) / 8 }
    var isZero: Bool { BN_is_zero(pointer) == 1 }

    /// Minimal big-endian bytes (empty for zero).
    var bytes: [UInt8] {
        var output = [UInt8](repeating: 0, count: byteCount)
        _ = output.withUnsafeMutableBufferPointer { BN_bn2bin(pointer, $0.baseAddress) }
        return output
    }

    /// Big-endian bytes left-padded with zeros to `length`; nil when the value needs more.
    func bytes(paddedTo length: Int) -> [UInt8]? {
        guard byteCount <= length else { return nil }
        var output = [UInt8](repeating: 0, count: length)
        let written = output.withUnsafeMutableBufferPointer { BN_bn2binpad(pointer, $0.baseAddress, Int32(length)) }
        return written == Int32(length) ? output : nil
    }

    func compare(_ other: BigNum) -> Int { Int(BN_cmp(pointer, other.pointer)).signum() }

    func remainder(dividingBy word: UInt) -> UInt { UInt(BN_mod_word(pointer, word)) }
}

/// A scratch `BN_CTX` for a group of BIGNUM operations.
final class BigNumContext {
    let pointer: OpaquePointer

    init() {
        guard let pointer = BN_CTX_new() else { fatalError("BN_CTX_new: \(OpenSSL.lastError())") }
        self.pointer = pointer
    }

    deinit { BN_CTX_free(pointer) }
}

/// The arithmetic this module needs, each returning a fresh `BigNum`.
extension BigNum {
    static func modExp(_ base: BigNum, _ exponent: BigNum, _ modulus: BigNum, _ context: BigNumContext) throws -> BigNum {
        guard !modulus.isZero else { throw CryptoError.invalidLength("modulus is zero") }
        let result = BigNum()
        guard BN_mod_exp(result.pointer, base.pointer, exponent.pointer, modulus.pointer, context.pointer) == 1 else {
            throw OpenSSL.failure("BN_mod_exp")
        }
        return result
    }

    static func modMul(_ a: BigNum, _ b: BigNum, _ modulus: BigNum, _ context: BigNumContext) throws -> BigNum {
        guard !modulus.isZero else { throw CryptoError.invalidLength("modulus is zero") }
        let result = BigNum()
        guard BN_mod_mul(result.pointer, a.pointer, b.pointer, modulus.pointer, context.pointer) == 1 else {
            throw OpenSSL.failure("BN_mod_mul")
        }
        return result
    }

    static func modAdd(_ a: BigNum, _ b: BigNum, _ modulus: BigNum, _ context: BigNumContext) throws -> BigNum {
        guard !modulus.isZero else { throw CryptoError.invalidLength("modulus is zero") }
        let result = BigNum()
        guard BN_mod_add(result.pointer, a.pointer, b.pointer, modulus.pointer, context.pointer) == 1 else {
            throw OpenSSL.failure("BN_mod_add")
        }
        return result
    }

    /// `(a - b) mod m`, always in `0..<m`.
    static func modSub(_ a: BigNum, _ b: BigNum, _ modulus: BigNum, _ context: BigNumContext) throws -> BigNum {
        guard !modulus.isZero else { throw CryptoError.invalidLength("modulus is zero") }
        let result = BigNum()
        guard BN_mod_sub(result.pointer, a.pointer, b.pointer, modulus.pointer, context.pointer) == 1 else {
            throw OpenSSL.failure("BN_mod_sub")
        }
        return result
    }

    static func add(_ a: BigNum, _ b: BigNum) throws -> BigNum {
        let result = BigNum()
        guard BN_add(result.pointer, a.pointer, b.pointer) == 1 else { throw OpenSSL.failure("BN_add") }
        return result
    }

    /// `a - b`; the caller guarantees `a >= b` (values here are unsigned).
    static func subtract(_ a: BigNum, _ b: BigNum) throws -> BigNum {
        let result = BigNum()
        guard BN_sub(result.pointer, a.pointer, b.pointer) == 1 else { throw OpenSSL.failure("BN_sub") }
        return result
    }

    static func multiply(_ a: BigNum, _ b: BigNum, _ context: BigNumContext) throws -> BigNum {
        let result = BigNum()
        guard BN_mul(result.pointer, a.pointer, b.pointer, context.pointer) == 1 else { throw OpenSSL.failure("BN_mul") }
        return result
    }

    /// `2^exponent`.
    static func powerOfTwo(_ exponent: Int) throws -> BigNum {
        let result = BigNum()
        guard BN_set_bit(result.pointer, Int32(exponent)) == 1 else { throw OpenSSL.failure("BN_set_bit") }
        return result
    }

    /// `self >> 1`.
    func halved() throws -> BigNum {
        let result = BigNum()
        guard BN_rshift1(result.pointer, pointer) == 1 else { throw OpenSSL.failure("BN_rshift1") }
        return result
    }

    /// Probabilistic primality (OpenSSL's `BN_check_prime`: Miller-Rabin with the round
    /// count for the size's security level, error probability below 2^-128).
    func isProbablePrime(_ context: BigNumContext) throws -> Bool {
        switch BN_check_prime(pointer, context.pointer, nil) {
        case 1: return true
        case 0: return false
        default: throw OpenSSL.failure("BN_check_prime")
        }
    }
}
