import Foundation
import GatewayModel
import Logging
import Synchronization

/// Account ownership in a cluster: a lease per account in PostgreSQL (`AccountLeaseStore`).
///
/// Every third of the lease duration this instance records its heartbeat and renews the leases
/// it holds (a lease not renewed — taken over at a new epoch — is released in its plugin at once);
/// a separate loop, at the same pace, takes accounts that should be driven and whose lease is free
/// or expired, up to its fair share: ceil(accounts / live instances) + 1 (a slow resume never
/// delays a renewal). The first scan waits one interval, so instances started together see each
/// other before sharing. A renewal that fails or takes longer than an interval (the database out
/// of reach, or hanging) counts as failed; once the leases may expire before the next attempt,
/// every account is released: another instance may be driving them soon.
public final class LeasedOwnership: AccountOwnership {
    /// Statuses of accounts some instance should drive.
    static let resumableStatuses: [AccountStatus] = [.connected, .connecting, .error]

    let leases: AccountLeaseStore
    public let identity: ClusterIdentity
    public let leaseSeconds: Int
    private let plugins: PluginHost
    private let logger: Logger

    private struct Held {
        var platform: String
        var epoch: Int
    }
    private let held = Mutex<[String: Held]>([:])
    private let lastRenewal = Mutex<ContinuousClock.Instant>(.now)
    private let loops = Mutex<[Task<Void, Never>]>([])
    /// Live instances at the last heartbeat (for the fair share).
    private let liveInstances = Mutex(1)

    public init(leases: AccountLeaseStore, identity: ClusterIdentity, leaseSeconds: Int, plugins: PluginHost, logger: Logger) {
        self.leases = leases
        self.identity = identity
        self.leaseSeconds = leaseSeconds
        self.plugins = plugins
        var logger = logger
        logger[metadataKey: "instance"] = .string(identity.instanceId)
        self.logger = logger
    }

    public var instanceId: String? { identity.instanceId }

    /// Renewals and scans run this often: a third of the lease.
    public var renewInterval: Duration { .milliseconds(leaseSeconds * 1000 / 3) }

    public func owner(of account: Account) async throws -> AccountOwner {
        if let lease = try await leases.lease(of: account.id), lease.live {
            if lease.ownerId != identity.instanceId { return .elsewhere(instanceId: lease.ownerId, url: lease.ownerURL) }
            if held.withLock({ $0[account.id]?.epoch == lease.epoch }) { return .here }
        }
        // Free, expired, or ours without being held: take it here rather than wait for a scan.
        if try await take(account.id, platform: account.platform, resume: Self.resumableStatuses.contains(account.status)) {
            return .here
        }
        if let lease = try await leases.lease(of: account.id), lease.live, lease.ownerId != identity.instanceId {
            return .elsewhere(instanceId: lease.ownerId, url: lease.ownerURL)
        }
        return .here
    }

    public func claimNew(_ account: Account) async throws {
        _ = try await take(account.id, platform: account.platform, resume: false)
    }

    public func forget(_ accountId: String) async {
        held.withLock { _ = $0.removeValue(forKey: accountId) }
        do {
            try await leases.release([accountId], owner: identity.instanceId)
        } catch {
            logger.warning("cannot delete the lease of deleted account \(accountId): \(error)")
        }
    }

    public func start() async {
        let interval = renewInterval
        loops.withLock { tasks in
            guard tasks.isEmpty else { return }
            tasks = [
                Task { [self] in
                    while !Task.isCancelled {
                        await maintainLeases()
                        try? await Task.sleep(for: interval)
                    }
                },
                Task { [self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if Task.isCancelled { break }
                        await scan()
                    }
                },
            ]
        }
        logger.info("cluster: instance \(identity.instanceId) at \(identity.advertiseURL), leases of \(leaseSeconds) s")
    }

    public func stop() async {
        for task in loops.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        let released = held.withLock { held in
            defer { held = [:] }
            return held
        }
        for (accountId, lease) in released { await releaseInPlugin(accountId, platform: lease.platform) }
        do {
            try await leases.release(Array(released.keys), owner: identity.instanceId)
            try await leases.removeInstance(identity.instanceId)
        } catch {
            logger.warning("cluster: cannot give up the leases at stop (they expire within \(leaseSeconds) s): \(error)")
        }
        logger.info("cluster: released \(released.count) account(s)")
    }

    // MARK: The loop

    /// Heartbeat and renewal, given at most one interval.
    func maintainLeases() async {
        let (leases, identity, seconds) = (self.leases, self.identity, leaseSeconds)
        let outcome = await withDeadline(renewInterval) { [self] in
            let live = try await leases.heartbeat(instance: identity.instanceId, url: identity.advertiseURL, seconds: seconds)
            liveInstances.withLock { $0 = max(1, live) }
            try await renew()
        }
        if let error = outcome {
            logger.warning("cluster: lease renewal failed: \(error)")
            let sinceRenewal = lastRenewal.withLock { $0 }.duration(to: .now)
            if sinceRenewal >= .seconds(leaseSeconds) - renewInterval {
                // Our leases may expire before the next attempt: stop driving before anyone takes over.
                let released = held.withLock { held in
                    defer { held = [:] }
                    return held
                }
                if !released.isEmpty {
                    logger.error("cluster: leases not renewed for \(sinceRenewal): releasing \(released.count) account(s)")
                }
                for (accountId, lease) in released { await releaseInPlugin(accountId, platform: lease.platform) }
            }
        }
    }

    func scan() async {
        do {
            try await takeFreeAccounts(liveInstances: liveInstances.withLock { $0 })
        } catch {
            logger.warning("cluster: looking for accounts to take over failed: \(error)")
        }
    }

    private func renew() async throws {
        let snapshot = held.withLock { $0.mapValues(\.epoch) }
        let renewed = try await leases.renew(snapshot, owner: identity.instanceId, seconds: leaseSeconds)
        lastRenewal.withLock { $0 = .now }
        for (accountId, epoch) in snapshot where !renewed.contains(accountId) {
            let lost = held.withLock { held -> Held? in
                guard let lease = held[accountId], lease.epoch == epoch else { return nil }
                held[accountId] = nil
                return lease
            }
            guard let lost else { continue }
            logger.warning("cluster: lost the lease of account \(accountId) (taken over): releasing it")
            await releaseInPlugin(accountId, platform: lost.platform)
        }
    }

    private func takeFreeAccounts(liveInstances: Int) async throws {
        let (candidates, total) = try await leases.candidates(
            statuses: Self.resumableStatuses.map(\.rawValue), platforms: plugins.platforms, owner: identity.instanceId)
        let fairShare = (total + liveInstances - 1) / liveInstances + 1
        for candidate in candidates.shuffled() {
            let (count, holds) = held.withLock { ($0.count, $0[candidate.accountId] != nil) }
            if count >= fairShare { break }
            if holds { continue }
            if try await take(candidate.accountId, platform: candidate.platform, resume: true) {
                logger.info("cluster: took over account \(candidate.accountId)")
            }
        }
    }

    /// Acquires the account's lease; when this instance did not hold it at that epoch, the plugin
    /// resumes the account (if asked). False when another instance holds it.
    private func take(_ accountId: String, platform: String, resume: Bool) async throws -> Bool {
        guard let epoch = try await leases.acquire(
            accountId, owner: identity.instanceId, url: identity.advertiseURL, seconds: leaseSeconds)
        else { return false }
        let isNew = held.withLock { held -> Bool in
            let isNew = held[accountId]?.epoch != epoch
            held[accountId] = Held(platform: platform, epoch: epoch)
            return isNew
        }
        if isNew, resume { await resumeInPlugin(accountId, platform: platform) }
        return true
    }

    // MARK: Plugin ops

    private func resumeInPlugin(_ accountId: String, platform: String) async {
        guard plugins.capabilities(of: platform)?.contains("resume") == true else { return }
        do throws(ChannelError) {
            let state = try await plugins.invoke(
                platform: platform, op: "resume", AccountRequest(accountId: accountId), as: AccountState.self)
            logger.info("cluster: account \(accountId) resumed here (\(state.status.rawValue))")
        } catch {
            logger.warning("cluster: account \(accountId) could not be resumed: \(error.code): \(error.message)")
        }
    }

    private func releaseInPlugin(_ accountId: String, platform: String) async {
        guard plugins.capabilities(of: platform)?.contains("release") == true else { return }
        do throws(ChannelError) {
            _ = try await plugins.invoke(platform: platform, op: "release", AccountRequest(accountId: accountId), as: AccountState.self)
        } catch {
            logger.warning("cluster: account \(accountId) could not be released: \(error.code): \(error.message)")
        }
    }
}
