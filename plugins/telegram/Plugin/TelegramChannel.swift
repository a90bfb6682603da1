import ChannelKit
import Foundation
import TelegramClient

@_cdecl("gw_channel_entry")
public func gwChannelEntry() -> UnsafeRawPointer {
    ChannelExport.descriptor(for: TelegramChannel.self)
}

/// Telegram user accounts over MTProto as a gateway channel: connect (code or QR, 2FA), dialogs, send,
/// and every received message as an event. Sessions persist through the host's state API
/// (encrypted at rest by the host) and reconnect by themselves when the gateway starts.
final class TelegramChannel: Channel, @unchecked Sendable {
    static let name = "telegram"
    static let version = "1.0.0"
    static let operations = [
        "connect", "submit_code", "submit_password", "disconnect", "logout", "status", "dialogs", "send", "mark_read", "resume",
        "release",
    ]

    private let host: ChannelHost
    private let settings: TelegramSettings
    private let accounts = AccountRegistry()
    /// The saved-accounts index, read once: every session save would otherwise re-read and parse it.
    private let savedIds: SavedAccountIndex

    init(host: ChannelHost, config: JSONValue) throws {
        self.host = host
        settings = try TelegramSettings.decode(config)
        let stored = (try? host.state(SavedAccount.indexKey)).flatMap { try? JSONDecoder().decode([String].self, from: $0) }
        savedIds = SavedAccountIndex(stored ?? [])
        if !settings.maySaveSessions {
            host.log(.warning, "sessions will not be saved: no storage.state_key (set insecure_plaintext_sessions: true to allow plaintext)")
        }
    }

    /// Every account saved as connected comes back by itself — unless the host decides
    /// ownership (a cluster): then only the accounts it `resume`s.
    func start() async {
        guard !settings.hostOwnsAccounts else { return }
        for accountId in savedIds.all() {
            guard let saved = savedLoggedIn(accountId) else { continue }
            do {
                let account = try makeAccount(saved)
                _ = await account.start()
            } catch {
                host.log(.error, "account \(accountId) cannot be restored: \(error)")
            }
        }
    }

    /// The saved account with a logged-in session, read now (another instance may have saved it).
    private func savedLoggedIn(_ accountId: String) -> SavedAccount? {
        guard let data = try? host.state(SavedAccount.key(accountId)),
              let saved = try? JSONDecoder().decode(SavedAccount.self, from: data), saved.session?.userId != nil else { return nil }
        return saved
    }

    /// The host made this instance the account's owner: reconnect its saved session (the client
    /// fetches what it missed with updates.getDifference from the saved update state).
    private func resume(_ accountId: String) async throws -> AccountState {
        if let existing = accounts.get(accountId) { return await existing.state }
        guard let saved = savedLoggedIn(accountId) else {
            throw ChannelError(code: "not_connected", message: "account \(accountId) has no saved logged-in session to resume")
        }
        return try await makeAccount(saved).start()
    }

    /// Another instance takes the account over: close the connection, keep the saved session,
    /// report nothing (the account stays connected in the store).
    private func release(_ accountId: String) async -> AccountState {
        if let account = accounts.get(accountId) {
            accounts.remove(accountId)
            await account.release()
        }
        return AccountState(status: .disconnected)
    }

    func handle(_ request: ChannelRequest) async throws -> any Encodable & Sendable {
        switch request.op {
        case "connect":
            let connect = try request.decode(ConnectRequest.self)
            let method = try LoginMethod(connect.method)
            if let existing = accounts.get(connect.accountId) { await existing.disconnect() }
            let saved = SavedAccount(accountId: connect.accountId, organizationId: connect.organizationId,
                                     apiId: connect.apiId.map { Int32(clamping: $0) }, apiHash: connect.apiHash,
                                     phoneNumber: connect.phoneNumber, session: nil)
            return try await makeAccount(saved).start(method: method)
        case "submit_code":
            let secret = try request.decode(SecretRequest.self)
            return try await account(secret.accountId).submitCode(secret.code ?? "")
        case "submit_password":
            let secret = try request.decode(SecretRequest.self)
            return try await account(secret.accountId).submitPassword(secret.password ?? "")
        case "status":
            let target = try request.decode(AccountRequest.self)
            return await accounts.get(target.accountId)?.state ?? AccountState(status: .disconnected)
        case "resume":
            return try await resume(try request.decode(AccountRequest.self).accountId)
        case "release":
            return await release(try request.decode(AccountRequest.self).accountId)
        case "disconnect":
            let target = try request.decode(AccountRequest.self)
            return try await account(target.accountId).disconnect()
        case "logout":
            let target = try request.decode(AccountRequest.self)
            let state = try await account(target.accountId).logOut()
            accounts.remove(target.accountId)
            forget(target.accountId)
            return state
        case "dialogs":
            let dialogs = try request.decode(DialogsRequest.self)
            return try await account(dialogs.accountId).dialogs(limit: dialogs.limit, cursor: dialogs.cursor)
        case "send":
            let send = try request.decode(SendRequest.self)
            return try await account(send.accountId).send(send)
        case "mark_read":
            let markRead = try request.decode(MarkReadRequest.self)
            try await account(markRead.accountId).markRead(chatId: markRead.chatId)
            return ["ok": true] as [String: Bool]
        default:
            throw ChannelError(code: "unsupported_operation", message: "telegram does not support \(request.op)")
        }
    }

    func shutdown() async {
        for account in accounts.all() {
            // Under host ownership another instance takes the accounts over: they stay connected.
            if settings.hostOwnsAccounts { await account.release() } else { await account.disconnect() }
        }
    }

    // MARK: Accounts

    private func account(_ accountId: String) throws -> TelegramAccount {
        guard let account = accounts.get(accountId) else {
            throw ChannelError(code: "not_connected", message: "account \(accountId) is not connected: call connect first")
        }
        return account
    }

    private func makeAccount(_ saved: SavedAccount) throws -> TelegramAccount {
        let configuration = try settings.clientConfiguration(apiId: saved.apiId, apiHash: saved.apiHash)
        let pacing = (send: Duration.milliseconds(settings.sendIntervalMilliseconds), dialogs: Duration.milliseconds(settings.dialogsIntervalMilliseconds))
        let account = TelegramAccount(saved: saved, configuration: configuration, pacing: pacing, host: host) { [weak self] saved in
            self?.save(saved)
        }
        accounts.set(saved.accountId, account)
        return account
    }

    private func save(_ saved: SavedAccount) {
        guard settings.maySaveSessions else { return }
        do {
            try host.setState(SavedAccount.key(saved.accountId), JSONEncoder().encode(saved))
            if let ids = savedIds.insert(saved.accountId) {
                try host.setState(SavedAccount.indexKey, JSONEncoder().encode(ids))
            }
        } catch {
            host.log(.error, "saving account \(saved.accountId) failed: \(error)")
        }
    }

    private func forget(_ accountId: String) {
        try? host.removeState(SavedAccount.key(accountId))
        try? host.setState(SavedAccount.indexKey, JSONEncoder().encode(savedIds.remove(accountId)))
    }
}

/// The ids of saved accounts, in the order they were first saved (mirrors the state's index key).
final class SavedAccountIndex: @unchecked Sendable {
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
final class AccountRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var accounts: [String: TelegramAccount] = [:]

    func get(_ id: String) -> TelegramAccount? { lock.withLock { accounts[id] } }
    func set(_ id: String, _ account: TelegramAccount) { lock.withLock { accounts[id] = account } }
    func remove(_ id: String) { lock.withLock { accounts[id] = nil } }
    func all() -> [TelegramAccount] { lock.withLock { Array(accounts.values) } }
}
