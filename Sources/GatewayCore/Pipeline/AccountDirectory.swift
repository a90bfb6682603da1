import Foundation
import GatewayModel
import Synchronization

/// Accounts by id, cached in front of the store: the pipeline resolves every event's
/// organization here, and the API keeps it current when it creates, changes or deletes accounts.
public final class AccountDirectory: Sendable {
    private let store: any GatewayStore
    private let known = Mutex<[String: Account]>([:])

    public init(store: any GatewayStore) {
        self.store = store
    }

    /// The account, if it exists (and, when `channel` is given, belongs to that channel).
    public func account(_ id: String, channel: String? = nil) async throws -> Account? {
        let cached = known.withLock { $0[id] }
        let account: Account?
        if let cached {
            account = cached
        } else if let stored = try await store.account(id: id) {
            remember(stored)
            account = stored
        } else {
            account = nil
        }
        guard let account, channel == nil || account.platform == channel else { return nil }
        return account
    }

    public func remember(_ account: Account) {
        known.withLock { $0[account.id] = account }
    }

    public func forget(_ id: String) {
        _ = known.withLock { $0.removeValue(forKey: id) }
    }

    /// The account after a plugin's status update, or nil for an unknown account the plugin
    /// gave no organization for.
    func apply(_ update: AccountStatusUpdate, channel: String, now: Date) async throws -> Account? {
        var account: Account
        if let existing = try await self.account(update.accountId, channel: channel) {
            account = existing
        } else if let organizationId = update.organizationId, try await store.account(id: update.accountId) == nil {
            account = Account(
                id: update.accountId, organizationId: organizationId, platform: channel, status: update.status, createdAt: now)
        } else {
            return nil
        }
        account.status = update.status
        account.error = update.error
        account.displayName = update.displayName ?? account.displayName
        account.phone = update.phone ?? account.phone
        account.email = update.email ?? account.email
        account.lastActivity = now
        remember(account)
        return account
    }
}
