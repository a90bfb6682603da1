import TLRuntime

/// Deterministic random values for the generated round-trip checks (SplitMix64, seeded per test).
struct TLRandom {
    static let maximumDepth = 3
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func int32() -> Int32 { Int32(truncatingIfNeeded: next()) }
    mutating func int64() -> Int64 { Int64(bitPattern: next()) }
    mutating func double() -> Double { Double(bitPattern: next()) }
    mutating func bool() -> Bool { next() & 1 == 1 }
    mutating func choose(_ count: Int) -> Int { Int(next() % UInt64(count)) }
    mutating func flag(depth: Int) -> Bool { depth <= Self.maximumDepth && bool() }
    mutating func count(depth: Int) -> Int { depth > Self.maximumDepth ? 0 : choose(4) }

    /// Lengths around the 1-byte/4-byte length-prefix boundary (253/254) and padding cases.
    mutating func bytes() -> [UInt8] {
        let lengths = [0, 1, 2, 3, 4, 5, 253, 254, 255, 300]
        return (0..<lengths[choose(lengths.count)]).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    mutating func string() -> String {
        let samples = ["", "a", "hello", "Привет, мир", "👋🏽 emoji", String(repeating: "x", count: 260)]
        return samples[choose(samples.count)]
    }

    mutating func int128() -> TLInt128 { TLInt128((0..<16).map { _ in UInt8(truncatingIfNeeded: next()) })! }
    mutating func int256() -> TLInt256 { TLInt256((0..<32).map { _ in UInt8(truncatingIfNeeded: next()) })! }
}

/// One generated type's property: written, read back and written again, the bytes are identical.
struct RoundTrip: Sendable {
    let name: String
    let check: @Sendable (inout TLRandom) throws -> Bool

    static func check<T: TLSerializable & TLDeserializable>(_ value: T) throws -> Bool {
        let bytes = value.serialized()
        let decoded = try T(tlBytes: bytes)
        return decoded.serialized() == bytes
    }
}
