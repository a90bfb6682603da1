import Foundation
import GatewayModel

/// The recent events of one organization, by offset, for missed-event recovery: bounded by
/// age (the recovery window) and by count.
struct RecoveryLog: Sendable {
    struct Entry: Sendable {
        var offset: Int
        var time: ContinuousClock.Instant
        /// Encoded only when replayed: most events are never asked for again.
        var event: GatewayEvent
    }

    private(set) var entries: [Entry] = []
    private var head = 0

    mutating func append(_ entry: Entry, window: Duration, limit: Int) {
        entries.append(entry)
        let oldest = entry.time - window
        while head < entries.count, entries.count - head > limit || entries[head].time < oldest { head += 1 }
        if head > 1024, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// Events after `offset`, in order — or nil when events after it may have been dropped
    /// (the offset is older than what is kept, or from the future).
    func events(after offset: Int, now: ContinuousClock.Instant, window: Duration) -> [Entry]? {
        let live = entries[head...].drop { $0.time < now - window }
        guard let newest = live.last?.offset else { return offset == lastOffset ? [] : nil }
        guard offset <= newest, let first = live.first?.offset, offset >= first - 1 else { return nil }
        return live.filter { $0.offset > offset }
    }

    /// The offset of the newest event ever appended (0 if none).
    var lastOffset: Int { entries.last?.offset ?? 0 }
}
