import Foundation
import Logging

/// The pipeline's view of a store outage (`StoreUnavailable`): how long to wait before the next
/// attempt (100 ms doubling to 5 s), and what to log — the start once, a reminder at most every
/// 30 s, the recovery with its length. Used by the single consumer loop only.
struct StoreOutage {
    static let firstDelay = Duration.milliseconds(100)
    static let longestDelay = Duration.seconds(5)
    static let reminderInterval = Duration.seconds(30)

    private var startedAt: ContinuousClock.Instant?
    private var loggedAt: ContinuousClock.Instant?
    private var delay = firstDelay
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    var isOngoing: Bool { startedAt != nil }

    /// Records a failed attempt; returns how long to wait before the next one.
    mutating func failed(_ error: StoreUnavailable, backlog: Int) -> Duration {
        let now = ContinuousClock.now
        if let startedAt {
            if let loggedAt, loggedAt.duration(to: now) >= Self.reminderInterval {
                self.loggedAt = now
                logger.error("store still unavailable after \(Self.seconds(startedAt.duration(to: now))) s, \(backlog) events waiting: \(error)")
            }
        } else {
            startedAt = now
            loggedAt = now
            delay = Self.firstDelay
            logger.error("store unavailable, keeping events and retrying: \(error)")
        }
        defer { delay = min(delay * 2, Self.longestDelay) }
        return delay
    }

    /// The store answered again.
    mutating func recovered() {
        guard let startedAt else { return }
        logger.notice("store available again after \(Self.seconds(startedAt.duration(to: .now))) s")
        self.startedAt = nil
        loggedAt = nil
        delay = Self.firstDelay
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.1f", Double(seconds) + Double(attoseconds) / 1e18)
    }
}
