/// TL `int128`: 16 raw bytes (nonces), kept as bytes because the protocol only hashes and compares them.
public struct TLInt128: Hashable, Sendable {
    public let bytes: [UInt8]

    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }
    public static var zero: TLInt128 { TLInt128(unchecked: [UInt8](repeating: 0, count: 16)) }
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> TLInt128 {
        TLInt128(unchecked: (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}

/// TL `int256`: 32 raw bytes (new_nonce).
public struct TLInt256: Hashable, Sendable {
    public let bytes: [UInt8]

    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }
    public static var zero: TLInt256 { TLInt256(unchecked: [UInt8](repeating: 0, count: 32)) }
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> TLInt256 {
        TLInt256(unchecked: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}
