import Foundation
import GatewayModel

/// What the account endpoints do: connect and log in through the platform's plugin, and keep
/// the stored account in step with what the plugin answers. Every lookup is scoped to the
/// caller's organization (another organization's account is "not found").
struct AccountService: Sendable {
    let store: any GatewayStore
    let accounts: AccountDirectory
    let plugins: PluginHost
    /// Which instance drives each account (a cluster); with one instance, this one.
    var ownership: any AccountOwnership = LocalOwnership()

    struct ConnectBody: Decodable {
        var platform: String
        var phoneNumber: String?
        var apiId: Int?
        var apiHash: String?
        var phoneCode: String?
        var password: String?
        var method: String?
        var config: JSONValue?

        init(platform: String, phoneNumber: String? = nil, apiId: Int? = nil, apiHash: String? = nil) {
            self.platform = platform
            self.phoneNumber = phoneNumber
            self.apiId = apiId
            self.apiHash = apiHash
        }
    }

    /// Starts connecting, or — for an account of the same platform and phone that awaits a code
    /// or password — completes the step with what the body carries.
    func connect(_ body: ConnectBody, by caller: Principal) async throws -> (Account, loginUrl: String?) {
        if let config = body.config, config.objectValue == nil {
            throw APIError.validation("config", "config must be an object")
        }
        guard !body.platform.isEmpty, plugins.platforms.contains(body.platform) else {
            throw APIError.validation(
                "platform", "no plugin for platform \"\(body.platform)\" is loaded (loaded: \(plugins.platforms.joined(separator: ", ")))")
        }
        var account: Account
        if let existing = try await existingAccount(for: body, by: caller) {
            account = existing
            if account.status == .awaitingCode || account.status == .awaitingPassword || account.status == .connected {
                return try await completeSteps(account, body)
            }
        } else {
            account = Account(
                id: UUID().lowercasedString, organizationId: caller.organizationId, platform: body.platform,
                phone: body.phoneNumber, status: .connecting, createdAt: Date())
            try await save(account)
            // Connected through this instance: driven here (a cluster's lease).
            try await ownership.claimNew(account)
        }
        let request = ConnectRequest(
            accountId: account.id, organizationId: account.organizationId, phoneNumber: body.phoneNumber, apiId: body.apiId,
            apiHash: body.apiHash, method: body.method, config: body.config)
        let state = try await invokeRecording(&account, op: "connect", request)
        account = try await completeSteps(account, body).0
        return (account, state.loginUrl)
    }

    /// The caller's account of the same platform and phone that a connect continues, if any.
    func existingAccount(for body: ConnectBody, by caller: Principal) async throws -> Account? {
        guard let phone = body.phoneNumber, !phone.isEmpty else { return nil }
        return try await store.accounts(organizationId: caller.organizationId)
            .first(where: { $0.platform == body.platform && $0.phone == phone })
    }

    /// Submits the code and/or password the body carries, as far as the account's state asks.
    private func completeSteps(_ account: Account, _ body: ConnectBody) async throws -> (Account, loginUrl: String?) {
        var account = account
        if account.status == .awaitingCode, let code = body.phoneCode {
            _ = try await invokeRecording(&account, op: "submit_code", SecretRequest(accountId: account.id, code: code))
        }
        if account.status == .awaitingPassword, let password = body.password {
            _ = try await invokeRecording(&account, op: "submit_password", SecretRequest(accountId: account.id, password: password))
        }
        return (account, nil)
    }

    func submitCode(_ code: String, account id: String, by caller: Principal) async throws -> Account {
        var account = try await find(id, for: caller)
        _ = try await invokeRecording(&account, op: "submit_code", SecretRequest(accountId: id, code: code))
        return account
    }

    func submitPassword(_ password: String, account id: String, by caller: Principal) async throws -> Account {
        var account = try await find(id, for: caller)
        _ = try await invokeRecording(&account, op: "submit_password", SecretRequest(accountId: id, password: password))
        return account
    }

    func disconnect(_ id: String, by caller: Principal) async throws -> Account {
        var account = try await find(id, for: caller)
        _ = try await invokeRecording(&account, op: "disconnect", AccountRequest(accountId: id))
        return account
    }

    /// Logs out at the channel (best effort: the account goes even if the channel is gone) and
    /// deletes the account; the plugin drops its stored session on logout.
    func delete(_ id: String, by caller: Principal) async throws {
        let account = try await find(id, for: caller)
        _ = try? await plugins.invoke(platform: account.platform, op: "logout", AccountRequest(accountId: id), as: AccountState.self)
        // The status events the logout emitted are stored first: applied after the delete, they
        // would bring the account back (a race the store's speed would decide).
        await plugins.pipeline.flush()
        _ = try await store.write([.deleteAccount(id: id)])
        accounts.forget(id)
        await ownership.forget(id)
    }

    /// The URL a QR login shows now (Telegram renews it every ~30 s): asked of the plugin, since
    /// the store keeps statuses, not login tokens.
    func loginUrl(_ id: String, by caller: Principal) async throws -> String {
        let account = try await find(id, for: caller)
        let state = try await plugins.invoke(platform: account.platform, op: "status", AccountRequest(accountId: id), as: AccountState.self)
        guard let url = state.loginUrl, state.status == .connecting else {
            throw APIError(.conflict, "conflict", "account \(id) has no QR login in progress (status \(state.status.rawValue))")
        }
        return url
    }

    func dialogs(_ id: String, limit: Int, cursor: String?, by caller: Principal) async throws -> DialogsPage {
        let account = try await find(id, for: caller)
        guard account.status == .connected else {
            throw APIError(.conflict, "conflict", "account \(id) is \(account.status.rawValue), not connected")
        }
        return try await plugins.invoke(
            platform: account.platform, op: "dialogs", DialogsRequest(accountId: id, limit: limit, cursor: cursor),
            as: DialogsPage.self)
    }

    func list(for caller: Principal) async throws -> [Account] {
        try await store.accounts(organizationId: caller.organizationId)
    }

    /// The caller's account, or 404.
    func find(_ id: String, for caller: Principal) async throws -> Account {
        guard let account = try await accounts.account(id), account.organizationId == caller.organizationId else {
            throw APIError.notFound("account")
        }
        return account
    }

    /// Invokes the plugin and records the state it answers; a channel error is recorded on the
    /// account only when it leaves the account unusable, and rethrown for the API.
    private func invokeRecording<Request: Encodable>(_ account: inout Account, op: String, _ request: Request) async throws
        -> AccountState
    {
        do {
            let state = try await plugins.invoke(platform: account.platform, op: op, request, as: AccountState.self)
            account.status = state.status
            account.error = state.error
            account.displayName = state.displayName ?? account.displayName
            account.phone = state.phone ?? account.phone
            account.email = state.email ?? account.email
            account.lastActivity = Date()
            try await save(account)
            return state
        } catch {
            if op == "connect" {
                account.status = .error
                account.error = (error as? ChannelError).map { "\($0.code): \($0.message)" } ?? "\(error)"
                account.lastActivity = Date()
                try await save(account)
            }
            throw error
        }
    }

    private func save(_ account: Account) async throws {
        _ = try await store.write([.upsertAccount(account)])
        accounts.remember(account)
    }
}
