import Foundation
import Synchronization

/// Tokens verified a moment ago, so a client's every request does not pay for a signature check
/// again (jwt-kit: header parse, base64, JSON, HMAC or RSA — tens of microseconds, more than
/// the rest of a small API call). An entry is used only while its token is still valid in time
/// (`exp`, `nbf`) and for at most `lifetime`; the cache is bounded and simply cleared when full.
final class VerifiedTokenCache: Sendable {
    struct Entry: Sendable {
        var principal: Principal
        var notBefore: Date?
        var expiresAt: Date?
        var cachedUntil: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let capacity: Int
    private let lifetime: TimeInterval

    init(capacity: Int = 10_000, lifetime: TimeInterval = 60) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    func principal(for token: String, now: Date = Date()) -> Principal? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            guard now < entry.cachedUntil, entry.expiresAt.map({ now < $0 }) ?? true,
                entry.notBefore.map({ now >= $0 }) ?? true
            else {
                entries[token] = nil
                return nil
            }
            return entry.principal
        }
    }

    func remember(_ principal: Principal, for token: String, notBefore: Date?, expiresAt: Date?, now: Date = Date()) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = Entry(principal: principal, notBefore: notBefore, expiresAt: expiresAt,
                                   cachedUntil: now.addingTimeInterval(lifetime))
        }
    }
}
