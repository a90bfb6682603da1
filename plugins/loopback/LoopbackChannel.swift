import ChannelKit
import Foundation

@_cdecl("gw_channel_entry")
public func gwChannelEntry() -> UnsafeRawPointer {
    ChannelExport.descriptor(for: LoopbackChannel.self)
}

/// A channel with no network behind it, for tests, benchmarks and trying the API:
/// - `send` answers like a real channel and then "the other side" replies: an inbound
///   message `echo: <text>` arrives in the same chat;
/// - `emit` produces N inbound messages with deterministic external ids (redelivering the same
///   range is how tests prove that the store deduplicates);
/// - `connect` with `config.requireCode` / `config.requirePassword` walks the same
///   awaiting_code → awaiting_password → connected steps as Telegram (code "12345", password "secret");
/// - with `gateway.accountOwnership: "host"` (a cluster, docs/PLUGIN_ABI.md) it drives an account only
///   between the host's `resume` and `release`, and its sent-message ids come from the idempotency
///   key (unique across the instances that may drive the account in turn).
final class LoopbackChannel: Channel, @unchecked Sendable {
    static let name = "loopback"
    static let version = "1.0.0"
    static let operations = [
        "connect", "submit_code", "submit_password", "disconnect", "logout", "status", "dialogs", "send",
        "mark_read", "emit", "resume", "release",
    ]

    static let validCode = "12345"
    static let validPassword = "secret"

    private let host: ChannelHost
    private let settings: LoopbackSettings
    private let accounts = LoopbackAccounts()
    private let stopping = StopFlag()

    init(host: ChannelHost, config: JSONValue) throws {
        self.host = host
        do {
            settings = try JSONDecoder().decode(LoopbackSettings.self, from: JSONEncoder().encode(config))
        } catch {
            throw ChannelError.badRequest("invalid loopback config: \(error)")
        }
    }

    func start() async {
        // Accounts declared in the config connect by themselves (no REST call needed).
        // Under host ownership they are only announced here; the owner's `resume` drives them.
        for declared in settings.accounts ?? [] {
            if !settings.hostOwnsAccounts { accounts.set(declared.accountId, .connected) }
            host.emit(.accountStatus(AccountStatusUpdate(
                accountId: declared.accountId, status: .connected, displayName: "Loopback \(declared.accountId)",
                organizationId: declared.organizationId)))
        }
        if let burst = settings.burst {
            // Paced in slices of 1,000 when a rate is set, so tests can act in the middle of it.
            let slice = burst.ratePerSecond == nil ? burst.count : 1_000
            var next = burst.start ?? 0
            let end = next + burst.count
            while next < end, !stopping.isSet {
                let count = min(slice, end - next)
                emitBurst(EmitRequest(accountId: burst.accountId, count: count, chats: burst.chats, start: next))
                next += count
                if let rate = burst.ratePerSecond, rate > 0 {
                    try? await Task.sleep(for: .milliseconds(count * 1000 / rate))
                }
            }
        }
    }

    func handle(_ request: ChannelRequest) async throws -> any Encodable & Sendable {
        switch request.op {
        case "connect":
            let connect = try request.decode(ConnectRequest.self)
            let options = connect.config.flatMap { try? JSONDecoder().decode(ConnectOptions.self, from: JSONEncoder().encode($0)) }
            let next: AccountStatus =
                options?.requireCode == true ? .awaitingCode : options?.requirePassword == true ? .awaitingPassword : .connected
            accounts.set(connect.accountId, next, requiresPassword: options?.requirePassword == true)
            return report(connect.accountId, next)
        case "submit_code":
            let secret = try request.decode(SecretRequest.self)
            guard accounts.status(secret.accountId) == .awaitingCode else {
                throw ChannelError(code: "NOT_AWAITING_CODE", message: "account is not waiting for a code")
            }
            guard secret.code == Self.validCode else {
                throw ChannelError(code: "PHONE_CODE_INVALID", message: "the code is invalid")
            }
            let next: AccountStatus = accounts.requiresPassword(secret.accountId) ? .awaitingPassword : .connected
            accounts.set(secret.accountId, next)
            return report(secret.accountId, next)
        case "submit_password":
            let secret = try request.decode(SecretRequest.self)
            guard accounts.status(secret.accountId) == .awaitingPassword else {
                throw ChannelError(code: "NOT_AWAITING_PASSWORD", message: "account is not waiting for a password")
            }
            guard secret.password == Self.validPassword else {
                throw ChannelError(code: "PASSWORD_HASH_INVALID", message: "the password is invalid")
            }
            accounts.set(secret.accountId, .connected)
            return report(secret.accountId, .connected)
        case "disconnect", "logout":
            let account = try request.decode(AccountRequest.self)
            accounts.set(account.accountId, .disconnected)
            return report(account.accountId, .disconnected)
        case "status":
            let account = try request.decode(AccountRequest.self)
            return AccountState(status: accounts.status(account.accountId) ?? .disconnected)
        case "resume":
            // Nothing to reconnect: the account is driven from now on, and says so.
            let account = try request.decode(AccountRequest.self)
            accounts.set(account.accountId, .connected)
            return report(account.accountId, .connected)
        case "release":
            // Another instance takes over: stop driving, report nothing (the account stays connected).
            let account = try request.decode(AccountRequest.self)
            accounts.forget(account.accountId)
            return AccountState(status: .disconnected)
        case "dialogs":
            let dialogs = try request.decode(DialogsRequest.self)
            try requireConnected(dialogs.accountId)
            return accounts.dialogs(dialogs.accountId, limit: dialogs.limit, cursor: dialogs.cursor)
        case "send":
            let send = try request.decode(SendRequest.self)
            try requireConnected(send.accountId)
            return self.send(send)
        case "mark_read":
            let markRead = try request.decode(MarkReadRequest.self)
            try requireConnected(markRead.accountId)
            accounts.markRead(markRead.accountId, chatId: markRead.chatId)
            return ["ok": true] as [String: Bool]
        case "emit":
            let emit = try request.decode(EmitRequest.self)
            return ["emitted": emitBurst(emit)]
        default:
            throw ChannelError(code: "unsupported_operation", message: "loopback does not support \(request.op)")
        }
    }

    func shutdown() async {
        stopping.set()
    }

    private func requireConnected(_ accountId: String) throws {
        guard accounts.status(accountId) == .connected else {
            throw ChannelError(code: "not_connected", message: "account \(accountId) is not connected")
        }
    }

    private func report(_ accountId: String, _ status: AccountStatus) -> AccountState {
        host.emit(.accountStatus(AccountStatusUpdate(accountId: accountId, status: status)))
        return AccountState(status: status, displayName: "Loopback \(accountId)")
    }

    /// Sends are idempotent per key, like a real channel's random_id; the echo arrives afterwards.
    private func send(_ send: SendRequest) -> SendResult {
        let (result, isNew) = accounts.recordSend(send, keyedIds: settings.hostOwnsAccounts)
        if isNew {
            let echo = ChannelMessage(
                accountId: send.accountId, chatId: send.chatId, externalId: "echo-\(result.externalId)",
                direction: .inbound, chatKind: .user, chatTitle: "Loopback \(send.chatId)",
                contact: Contact(id: send.chatId, name: "Loopback peer \(send.chatId)"),
                text: "echo: \(send.text)", metadata: ["replyTo": .string(result.externalId)],
                date: Date().timeIntervalSince1970)
            accounts.noteInbound(send.accountId, echo)
            host.emit(.message(echo))
        }
        return result
    }

    @discardableResult
    private func emitBurst(_ request: EmitRequest) -> Int {
        let chats = max(1, request.chats ?? 1)
        let first = request.start ?? 0
        var emitted = 0
        for index in first..<(first + max(0, request.count)) {
            if stopping.isSet { break }
            let chat = "chat-\(index % chats)"
            let message = ChannelMessage(
                accountId: request.accountId, chatId: chat, externalId: "m\(index)", direction: .inbound,
                chatKind: .user, chatTitle: "Loopback \(chat)",
                contact: Contact(id: chat, name: "Peer \(chat)"), text: request.text ?? "message \(index)",
                date: Date().timeIntervalSince1970)
            if host.emit(.message(message)) { emitted += 1 }
        }
        return emitted
    }
}

struct LoopbackSettings: Decodable {
    struct DeclaredAccount: Decodable {
        var accountId: String
        var organizationId: String
    }
    struct Burst: Decodable {
        var accountId: String
        var count: Int
        var chats: Int?
        var start: Int?
        var ratePerSecond: Int?
    }
    struct HostInfo: Decodable { var accountOwnership: String? }
    var accounts: [DeclaredAccount]?
    var burst: Burst?
    var gateway: HostInfo?

    /// The host decides which instance drives each account (`resume`/`release`).
    var hostOwnsAccounts: Bool { gateway?.accountOwnership == "host" }
}

struct ConnectOptions: Decodable {
    var requireCode: Bool?
    var requirePassword: Bool?
}

struct EmitRequest: Decodable {
    var accountId: String
    var count: Int
    var chats: Int?
    var start: Int?
    var text: String?

    init(accountId: String, count: Int, chats: Int?, start: Int?, text: String? = nil) {
        self.accountId = accountId
        self.count = count
        self.chats = chats
        self.start = start
        self.text = text
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
