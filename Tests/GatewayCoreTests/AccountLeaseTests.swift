import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// The lease SQL of cluster mode (Cluster/AccountLeaseStore.swift) against a real PostgreSQL
/// server (TestPostgres): acquire, renew, expiry and takeover with a new fencing epoch, and two
/// contenders racing for one account.
@Suite struct AccountLeaseTests {
    static func makeLeases(url: String? = nil) async throws -> (AccountLeaseStore, PostgresStore) {
        let store = try await PostgresStore(url: try url ?? TestPostgres.server().createDatabase(), logger: testLogger)
        try await store.migrate()
        return (AccountLeaseStore(store: store), store)
    }

    @Test func acquireIsExclusiveUntilReleased() async throws {
        let (leases, store) = try await Self.makeLeases()
        #expect(try await leases.acquire("acc-1", owner: "A", url: "http://a", seconds: 30) == 1)
        #expect(try await leases.acquire("acc-1", owner: "B", url: "http://b", seconds: 30) == nil, "A's lease is live")
        #expect(try await leases.acquire("acc-1", owner: "A", url: "http://a", seconds: 30) == 1, "re-acquiring keeps the epoch")
        let lease = try #require(try await leases.lease(of: "acc-1"))
        #expect(lease == .init(accountId: "acc-1", ownerId: "A", ownerURL: "http://a", epoch: 1, live: true))
        try await leases.release(["acc-1"], owner: "B")
        #expect(try await leases.lease(of: "acc-1")?.ownerId == "A", "only the owner releases")
        try await leases.release(["acc-1"], owner: "A")
        #expect(try await leases.lease(of: "acc-1") == nil)
        #expect(try await leases.acquire("acc-1", owner: "B", url: "http://b", seconds: 30) == 1, "free again")
        await store.close()
    }

    @Test func renewalExtendsOnlyTheHeldEpoch() async throws {
        let (leases, store) = try await Self.makeLeases()
        #expect(try await leases.acquire("acc-1", owner: "A", url: "http://a", seconds: 30) == 1)
        #expect(try await leases.acquire("acc-2", owner: "A", url: "http://a", seconds: 30) == 1)
        #expect(try await leases.renew(["acc-1": 1, "acc-2": 1], owner: "A", seconds: 30) == ["acc-1", "acc-2"])
        #expect(try await leases.renew(["acc-1": 1], owner: "B", seconds: 30) == [], "not B's lease")
        #expect(try await leases.renew(["acc-1": 7], owner: "A", seconds: 30) == [], "not the epoch A holds")
        #expect(try await leases.renew([:], owner: "A", seconds: 30) == [])
        await store.close()
    }

    @Test func anExpiredLeaseIsTakenOverAtANewEpoch() async throws {
        let (leases, store) = try await Self.makeLeases()
        #expect(try await leases.acquire("acc-1", owner: "A", url: "http://a", seconds: 1) == 1)
        #expect(try await leases.acquire("acc-1", owner: "B", url: "http://b", seconds: 30) == nil)
        try await Task.sleep(for: .milliseconds(1300))
        #expect(try await leases.lease(of: "acc-1")?.live == false)
        #expect(try await leases.acquire("acc-1", owner: "B", url: "http://b", seconds: 30) == 2)
        let lease = try #require(try await leases.lease(of: "acc-1"))
        #expect(lease.ownerId == "B" && lease.ownerURL == "http://b" && lease.live)
        // A comes back from a pause: its renewal fails (fenced by the epoch), so it knows.
        #expect(try await leases.renew(["acc-1": 1], owner: "A", seconds: 30) == [])
        #expect(try await leases.renew(["acc-1": 2], owner: "B", seconds: 30) == ["acc-1"])
        await store.close()
    }

    @Test func twoContendersOneWinner() async throws {
        let url = try TestPostgres.server().createDatabase()
        let (leases, store) = try await Self.makeLeases(url: url)
        // A second store: contenders on separate connection pools, as two gateways would be.
        let (otherLeases, other) = try await Self.makeLeases(url: url)
        for round in 0..<20 {
            let account = "race-\(round)"
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for contender in 0..<6 {
                    let side = contender % 2 == 0 ? leases : otherLeases
                    group.addTask {
                        try await side.acquire(account, owner: "I\(contender)", url: "http://i\(contender)", seconds: 30)
                            .map { _ in "I\(contender)" }
                    }
                }
                return try await group.reduce(into: [String]()) { if let winner = $1 { $0.append(winner) } }
            }
            #expect(winners.count == 1, "round \(round): \(winners)")
            #expect(try await leases.lease(of: account)?.ownerId == winners.first)
        }
        await other.close()
        await store.close()
    }

    @Test func candidatesAreAccountsNobodyDrives() async throws {
        let (leases, store) = try await Self.makeLeases()
        func account(_ id: String, _ status: AccountStatus, platform: String = "loopback") -> StoreWrite {
            .upsertAccount(Account(id: id, organizationId: "org", platform: platform, status: status, createdAt: Date()))
        }
        _ = try await store.write([
            account("a-free", .connected), account("b-leased", .connected), account("c-expired", .error),
            account("d-mine", .connecting), account("e-off", .disconnected), account("f-other", .connected, platform: "telegram"),
        ])
        _ = try await leases.acquire("b-leased", owner: "B", url: "http://b", seconds: 30)
        _ = try await leases.acquire("c-expired", owner: "B", url: "http://b", seconds: 1)
        _ = try await leases.acquire("d-mine", owner: "A", url: "http://a", seconds: 30)
        try await Task.sleep(for: .milliseconds(1300))
        let statuses = LeasedOwnership.resumableStatuses.map { $0.rawValue }
        let (found, total) = try await leases.candidates(statuses: statuses, platforms: ["loopback"], owner: "A")
        #expect(found.map(\.accountId) == ["a-free", "c-expired", "d-mine"])
        #expect(found.allSatisfy { $0.platform == "loopback" })
        #expect(total == 4, "the resumable loopback accounts, leased or not")
        #expect(try await leases.candidates(statuses: statuses, platforms: [], owner: "A").total == 0)
        await store.close()
    }

    @Test func heartbeatsCountLiveInstances() async throws {
        let (leases, store) = try await Self.makeLeases()
        #expect(try await leases.heartbeat(instance: "A", url: "http://a", seconds: 30) == 1)
        #expect(try await leases.heartbeat(instance: "B", url: "http://b", seconds: 1) == 2)
        try await Task.sleep(for: .milliseconds(1300))
        #expect(try await leases.heartbeat(instance: "A", url: "http://a", seconds: 30) == 1, "B's heartbeat expired")
        try await leases.removeInstance("A")
        #expect(try await leases.heartbeat(instance: "C", url: "http://c", seconds: 30) == 1)
        await store.close()
    }
}
