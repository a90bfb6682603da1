import Foundation
import Synchronization

extension UUID {
    /// A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 bits that are unique
    /// within the process (SplitMix64 over a random seed and a counter, RFC 9562 §6.2 method 2's
    /// spirit) — no system call per id. Ids made later sort later, so the store's id index grows
    /// at its end instead of at random pages.
    public static func timeOrdered(at date: Date = Date()) -> UUID {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let count = TimeOrderedIDs.counter.add(1, ordering: .relaxed).newValue
        let high = splitMix64(TimeOrderedIDs.seed &+ count)
        let low = splitMix64(high ^ count)
        return UUID(uuid: (
            UInt8(truncatingIfNeeded: milliseconds >> 40), UInt8(truncatingIfNeeded: milliseconds >> 32),
            UInt8(truncatingIfNeeded: milliseconds >> 24), UInt8(truncatingIfNeeded: milliseconds >> 16),
            UInt8(truncatingIfNeeded: milliseconds >> 8), UInt8(truncatingIfNeeded: milliseconds),
            0x70 | UInt8(truncatingIfNeeded: high >> 60), UInt8(truncatingIfNeeded: high >> 52),
            0x80 | UInt8(truncatingIfNeeded: high >> 46) & 0x3F, UInt8(truncatingIfNeeded: high >> 38),
            UInt8(truncatingIfNeeded: low >> 56), UInt8(truncatingIfNeeded: low >> 48),
            UInt8(truncatingIfNeeded: low >> 40), UInt8(truncatingIfNeeded: low >> 32),
            UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16)))
    }

    private static func splitMix64(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private enum TimeOrderedIDs {
    static let seed = UInt64.random(in: .min ... .max)
    static let counter = Atomic<UInt64>(0)
}
