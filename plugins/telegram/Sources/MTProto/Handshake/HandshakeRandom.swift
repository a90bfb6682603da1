import MTProtoCrypto
import TLRuntime

/// The injected random source of a handshake (SecureRandom in production, scripted in tests).
struct HandshakeRandom: Sendable {
    private let source: @Sendable (Int) -> [UInt8]

    init(_ source: @escaping @Sendable (Int) -> [UInt8]) { self.source = source }

    /// Exactly `count` bytes. A source that returns another length is a programming error
    /// (never network input), so it stops the process rather than weakening a key.
    func bytes(_ count: Int) -> [UInt8] {
        let bytes = source(count)
        precondition(bytes.count == count, "random source returned \(bytes.count) bytes, \(count) requested")
        return bytes
    }

    /// 0-15 bytes bringing `length` to a multiple of 16 (AES-IGE block padding of steps 6 and 7).
    func blockPadding(after length: Int) -> [UInt8] {
        bytes((16 - length % 16) % 16)
    }
}

extension HandshakeRandom {
    func int128() -> TLInt128 {
        guard let value = TLInt128(bytes(16)) else { preconditionFailure("16 random bytes make an int128") }
        return value
    }

    func int256() -> TLInt256 {
        guard let value = TLInt256(bytes(32)) else { preconditionFailure("32 random bytes make an int256") }
        return value
    }
}
