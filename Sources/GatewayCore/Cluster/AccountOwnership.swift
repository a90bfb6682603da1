import GatewayModel

/// Where an account is driven from.
public enum AccountOwner: Sendable, Equatable {
    /// This instance drives the account (always so with one instance).
    case here
    /// Another live instance holds the account's lease; API calls that need the plugin go there.
    case elsewhere(instanceId: String, url: String)
}

/// Which gateway instance drives each channel account: exactly one at a time. `LocalOwnership`
/// (one instance, SQLite) says "here" for everything; `LeasedOwnership` (a cluster) keeps a
/// lease per account in PostgreSQL and tells plugins to `resume` and `release` accounts.
public protocol AccountOwnership: Sendable {
    /// This instance's id in the cluster (nil with one instance).
    var instanceId: String? { get }
    /// Who drives the account now. An account nobody drives is taken here (and resumed in its
    /// plugin), so a call for it never waits for the next ownership scan.
    func owner(of account: Account) async throws -> AccountOwner
    /// A new account being connected through this instance: it is driven here.
    func claimNew(_ account: Account) async throws
    /// The account was deleted: its lease goes.
    func forget(_ accountId: String) async
    /// Begins renewing and taking over accounts (after the plugins are loaded).
    func start() async
    /// Graceful stop: plugins release every account and the leases go at once, so other
    /// instances take over without waiting for expiry.
    func stop() async
}

/// One instance: everything is driven here and nothing is leased.
public struct LocalOwnership: AccountOwnership {
    public init() {}
    public var instanceId: String? { nil }
    public func owner(of account: Account) async throws -> AccountOwner { .here }
    public func claimNew(_ account: Account) async throws {}
    public func forget(_ accountId: String) async {}
    public func start() async {}
    public func stop() async {}
}
