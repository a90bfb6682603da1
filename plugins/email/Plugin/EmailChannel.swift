import ChannelKit
import EmailCore
import Foundation

@_cdecl("gw_channel_entry")
public func gwChannelEntry() -> UnsafeRawPointer {
    ChannelExport.descriptor(for: EmailChannel.self)
}

/// Email accounts (SMTP out, IMAP in) as a gateway channel: connect validates both logins,
/// every new message in the watched mailbox becomes an event, send submits RFC 5322 mail.
/// Settings persist through the host's state API (encrypted at rest by the host) and accounts
/// come back by themselves when the gateway starts. docs/EMAIL.md.
final class EmailChannel: Channel, @unchecked Sendable {
    static let name = "email"
    static let version = "1.0.0"
    static let operations = ["connect", "disconnect", "logout", "status", "dialogs", "send", "mark_read", "resume", "release"]

    private let host: ChannelHost
    private let settings: EmailSettings
    private let accounts = EmailAccountRegistry()
    private let savedIds: SavedIdIndex

    init(host: ChannelHost, config: JSONValue) throws {
        self.host = host
        settings = try EmailSettings.decode(config)
        let stored = (try? host.state(SavedEmailAccount.indexKey)).flatMap { try? JSONDecoder().decode([String].self, from: $0) }
        savedIds = SavedIdIndex(stored ?? [])
        if !settings.maySaveSecrets {
            host.log(.warning, "email accounts will not be saved: no storage.state_key (set insecure_plaintext_secrets: true to allow plaintext)")
        }
    }

    /// Every enabled saved account comes back by itself — unless the host decides ownership
    /// (a cluster): then only the accounts it `resume`s.
    func start() async {
        guard !settings.hostOwnsAccounts else { return }
        for accountId in savedIds.all() {
            guard let saved = savedAccount(accountId) else {
                host.log(.error, "email account \(accountId) cannot be restored: its saved state is missing or unreadable")
                continue
            }
            guard saved.enabled else { continue }
            makeAccount(saved).resume()
        }
    }

    private func savedAccount(_ accountId: String) -> SavedEmailAccount? {
        guard let data = try? host.state(SavedEmailAccount.key(accountId)) else { return nil }
        return try? JSONDecoder().decode(SavedEmailAccount.self, from: data)
    }

    /// The host made this instance the account's owner: watch its mailbox from the saved progress.
    private func resume(_ accountId: String) throws -> AccountState {
        if let existing = accounts.get(accountId) { return existing.state }
        guard let saved = savedAccount(accountId), saved.enabled else {
            throw ChannelError(code: "not_connected", message: "email account \(accountId) has no saved enabled settings to resume")
        }
        let account = makeAccount(saved)
        account.resume()
        return account.state
    }

    /// Another instance takes the account over: stop watching, keep the saved settings and
    /// progress, report nothing.
    private func release(_ accountId: String) async -> AccountState {
        if let account = accounts.get(accountId) {
            accounts.remove(accountId)
            await account.shutdown(silent: true)
        }
        return AccountState(status: .disconnected)
    }

    func handle(_ request: ChannelRequest) async throws -> any Encodable & Sendable {
        switch request.op {
        case "connect":
            let connect = try request.decode(ConnectRequest.self)
            let config = try EmailAccountConfig.decode(connect.config, timeoutSeconds: settings.timeoutSeconds)
            if let existing = accounts.get(connect.accountId) { await existing.shutdown(silent: true) }
            let saved = SavedEmailAccount(accountId: connect.accountId, organizationId: connect.organizationId, config: config)
            return await makeAccount(saved).connect()
        case "status":
            let target = try request.decode(AccountRequest.self)
            return accounts.get(target.accountId)?.state ?? AccountState(status: .disconnected)
        case "resume":
            return try resume(try request.decode(AccountRequest.self).accountId)
        case "release":
            return await release(try request.decode(AccountRequest.self).accountId)
        case "disconnect":
            let target = try request.decode(AccountRequest.self)
            return try await account(target.accountId).disconnect()
        case "logout":
            let target = try request.decode(AccountRequest.self)
            let account = try account(target.accountId)
            await account.shutdown(silent: true)
            accounts.remove(target.accountId)
            forget(target.accountId)
            return AccountState(status: .disconnected)
        case "dialogs":
            let dialogs = try request.decode(DialogsRequest.self)
            return try account(dialogs.accountId).dialogs(limit: dialogs.limit, cursor: dialogs.cursor)
        case "send":
            let send = try request.decode(SendRequest.self)
            return try await account(send.accountId).send(send)
        case "mark_read":
            let markRead = try request.decode(MarkReadRequest.self)
            try await account(markRead.accountId).markRead(chatId: markRead.chatId)
            return ["ok": true] as [String: Bool]
        default:
            throw ChannelError(code: "unsupported_operation", message: "email does not support \(request.op)")
        }
    }

    func shutdown() async {
        await withTaskGroup(of: Void.self) { group in
            for account in accounts.all() { group.addTask { await account.shutdown(silent: true) } }
        }
    }

    // MARK: Accounts

    private func account(_ accountId: String) throws -> EmailAccount {
        guard let account = accounts.get(accountId) else {
            throw ChannelError(code: "not_connected", message: "account \(accountId) is not connected: call connect first")
        }
        return account
    }

    private func makeAccount(_ saved: SavedEmailAccount) -> EmailAccount {
        let mailbox = (try? host.state(SavedMailbox.key(saved.accountId))).flatMap { try? JSONDecoder().decode(SavedMailbox.self, from: $0) }
        let account = EmailAccount(
            saved: saved, mailbox: mailbox, host: host, settings: settings,
            persistAccount: { [weak self] saved in self?.save(saved) },
            persistMailbox: { [weak self] id, mailbox in self?.save(mailbox, for: id) })
        accounts.set(saved.accountId, account)
        return account
    }

    private func save(_ saved: SavedEmailAccount) {
        guard settings.maySaveSecrets else { return }
        do {
            try host.setState(SavedEmailAccount.key(saved.accountId), JSONEncoder().encode(saved))
            if let ids = savedIds.insert(saved.accountId) {
                try host.setState(SavedEmailAccount.indexKey, JSONEncoder().encode(ids))
            }
        } catch {
            host.log(.error, "saving email account \(saved.accountId) failed: \(error)")
        }
    }

    private func save(_ mailbox: SavedMailbox, for accountId: String) {
        guard settings.maySaveSecrets else { return }
        do {
            try host.setState(SavedMailbox.key(accountId), JSONEncoder().encode(mailbox))
        } catch {
            host.log(.error, "saving the mailbox state of \(accountId) failed: \(error)")
        }
    }

    private func forget(_ accountId: String) {
        try? host.removeState(SavedEmailAccount.key(accountId))
        try? host.removeState(SavedMailbox.key(accountId))
        try? host.setState(SavedEmailAccount.indexKey, JSONEncoder().encode(savedIds.remove(accountId)))
    }
}

/// The ids of saved accounts, in the order they were first saved (mirrors the state's index key).
final class SavedIdIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String]

    init(_ ids: [String]) { self.ids = ids }

    func all() -> [String] { lock.withLock { ids } }

    /// The new list when `id` was not there yet (to be written), nil otherwise.
    func insert(_ id: String) -> [String]? {
        lock.withLock {
            guard !ids.contains(id) else { return nil }
            ids.append(id)
            return ids
        }
    }

    func remove(_ id: String) -> [String] {
        lock.withLock {
            ids.removeAll { $0 == id }
            return ids
        }
    }
}

/// The channel's accounts by id (requests arrive concurrently).
final class EmailAccountRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var accounts: [String: EmailAccount] = [:]

    func get(_ id: String) -> EmailAccount? { lock.withLock { accounts[id] } }
    func set(_ id: String, _ account: EmailAccount) { lock.withLock { accounts[id] = account } }
    func remove(_ id: String) { lock.withLock { accounts[id] = nil } }
    func all() -> [EmailAccount] { lock.withLock { Array(accounts.values) } }
}
