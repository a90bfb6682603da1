import Foundation
import Testing

@testable import GatewayCore

/// A verified token is reused only while it is valid in time, for a bounded while, in a bounded cache.
@Suite struct VerifiedTokenCacheTests {
    let principal = Principal(userId: "u-1", organizationId: "org-1", email: nil, role: "admin")
    let start = Date(timeIntervalSince1970: 1_764_000_000)

    @Test func aCachedTokenStopsWorkingWhenItExpires() {
        let cache = VerifiedTokenCache(lifetime: 60)
        cache.remember(principal, for: "t", notBefore: nil, expiresAt: start.addingTimeInterval(10), now: start)
        #expect(cache.principal(for: "t", now: start.addingTimeInterval(9.9)) == principal)
        #expect(cache.principal(for: "t", now: start.addingTimeInterval(10)) == nil)
        #expect(cache.principal(for: "other", now: start) == nil)
    }

    @Test func notBeforeAndTheCacheLifetimeAreRespected() {
        let cache = VerifiedTokenCache(lifetime: 60)
        cache.remember(principal, for: "early", notBefore: start.addingTimeInterval(5), expiresAt: nil, now: start)
        #expect(cache.principal(for: "early", now: start.addingTimeInterval(1)) == nil)
        cache.remember(principal, for: "long", notBefore: nil, expiresAt: start.addingTimeInterval(3600), now: start)
        #expect(cache.principal(for: "long", now: start.addingTimeInterval(59)) == principal)
        #expect(cache.principal(for: "long", now: start.addingTimeInterval(61)) == nil, "verified again after the lifetime")
    }

    @Test func theCacheIsBounded() {
        let cache = VerifiedTokenCache(capacity: 3, lifetime: 60)
        for index in 0..<3 { cache.remember(principal, for: "t\(index)", notBefore: nil, expiresAt: nil, now: start) }
        cache.remember(principal, for: "t3", notBefore: nil, expiresAt: nil, now: start)
        #expect(cache.principal(for: "t0", now: start) == nil)
        #expect(cache.principal(for: "t3", now: start) == principal)
    }
}
