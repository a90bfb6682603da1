import Foundation
import GatewayModel
import Logging
import Synchronization

/// Account ownership in a cluster: a lease per account in PostgreSQL (`AccountLeaseStore`).
///
/// Every third of the lease duration this instance records its heartbeat, renews the leases it
/// holds (a lease not renewed — taken over at a new epoch — is released in its plugin at once),
/// and takes accounts that should be driven and whose lease is free or expired, up to its fair
/// share: ceil(accounts / live instances) + 1. The first scan waits one interval, so instances
/// started together see each other before sharing. If renewals keep failing (the database is out
/// of reach) until the leases may have expired, every account is released: another instance may
/// be driving them by then.
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
    private let loop = Mutex<Task<Void, Never>?>(nil)

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

    /// The accounts this instance drives now.
    public var heldAccounts: [String] { held.withLock { Array($0.keys) } }

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
        loop.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in
                var first = true
                while !Task.isCancelled {
                    await tick(scan: !first)
                    first = false
                    try? await Task.sleep(for: interval)
                }
            }
        }
        logger.info("cluster: instance \(identity.instanceId) at \(identity.advertiseURL), leases of \(leaseSeconds) s")
    }

    public func stop() async {
        if let task = loop.withLock({ $0 }) {
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

    func tick(scan: Bool) async {
        do {
            let live = try await leases.heartbeat(instance: identity.instanceId, url: identity.advertiseURL, seconds: leaseSeconds)
            try await renew()
            if scan { try await takeFreeAccounts(liveInstances: max(1, live)) }
        } catch {
            logger.warning("cluster: lease maintenance failed: \(error)")
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
