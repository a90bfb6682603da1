import ChannelKit
import Foundation
import MTProtoCrypto
import TelegramClient

/// One Telegram account: its client, its login steps, and its events turned into gateway events.
actor TelegramAccount {
    let accountId: String
    private(set) var saved: SavedAccount
    private(set) var status: AccountStatus = .connecting
    private(set) var lastError: String?
    /// The QR login URL to show while a QR login waits (status `connecting`); renewed by the client.
    private(set) var loginUrl: String?
    /// The client is logged in: only then does a (re)connection mean `connected`.
    private var loggedIn = false
    private let client: TelegramClient
    private let host: ChannelHost
    private let persist: @Sendable (SavedAccount) -> Void
    private var pump: Task<Void, Never>?
    private let sendPacer: Pacer
    private let dialogsPacer: Pacer

    init(saved: SavedAccount, configuration: TelegramClientConfiguration, pacing: (send: Duration, dialogs: Duration),
         host: ChannelHost, persist: @escaping @Sendable (SavedAccount) -> Void) {
        sendPacer = Pacer(interval: pacing.send)
        dialogsPacer = Pacer(interval: pacing.dialogs)
        accountId = saved.accountId
        self.saved = saved
        self.host = host
        self.persist = persist
        client = TelegramClient(configuration: configuration, state: saved.session)
    }

    /// Connects; logged-in sessions resume, otherwise a code is requested for the phone number,
    /// or with `method` "qr" a QR login starts (status `connecting` with `loginUrl`).
    func start(method: LoginMethod = .code) async -> AccountState {
        startPump()
        do {
            try await client.connect()
            if await client.isLoggedIn {
                loggedIn = true
                return report(.connected)
            }
            if method == .qr {
                let token = try await client.startQRLogin()
                loginUrl = token.url
                return report(.connecting)
            }
            guard let phone = saved.phoneNumber else {
                throw ChannelError(code: "PHONE_NUMBER_INVALID", message: "phoneNumber is required to log in")
            }
            return apply(try await client.sendCode(phone: phone))
        } catch TelegramClientError.loggedOut(let reason) {
            // A saved session revoked at Telegram: the user must log in again, no retries.
            return report(.disconnected, error: reason)
        } catch {
            return report(.error, error: describe(error))
        }
    }

    func submitCode(_ code: String) async throws -> AccountState {
        guard status == .awaitingCode else { throw ChannelError(code: "NOT_AWAITING_CODE", message: "account is not waiting for a code") }
        return apply(try await mapped { try await client.signIn(code: code) })
    }

    func submitPassword(_ password: String) async throws -> AccountState {
        guard status == .awaitingPassword else {
            throw ChannelError(code: "NOT_AWAITING_PASSWORD", message: "account is not waiting for a password")
        }
        return apply(try await mapped { try await client.checkPassword(password) })
    }

    var state: AccountState {
        AccountState(status: status, error: lastError, displayName: displayName, phone: saved.phoneNumber,
                     loginUrl: status == .connecting ? loginUrl : nil)
    }

    func dialogs(limit: Int, cursor: String?) async throws -> DialogsPage {
        try requireConnected()
        await dialogsPacer.wait()
        let page = try await mapped { try await client.dialogs(limit: limit, cursor: cursor) }
        return DialogsPage(dialogs: page.dialogs.map(Self.dialog), nextCursor: page.nextCursor)
    }

    /// random_id comes from the idempotency key, so a retried send never posts twice.
    func send(_ request: SendRequest) async throws -> SendResult {
        try requireConnected()
        let digest = SHA256.hash(Array("\(accountId)\u{0}\(request.idempotencyKey)".utf8))
        let randomId = digest.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let replyTo = request.replyTo.flatMap { Int32($0) }
        await sendPacer.wait()
        let sent = try await mapped { try await client.sendMessage(chatId: request.chatId, text: request.text, replyTo: replyTo, randomId: randomId) }
        return SendResult(externalId: String(sent.id), date: sent.date.timeIntervalSince1970)
    }

    func markRead(chatId: String) async throws {
        try requireConnected()
        try await mapped { try await client.markRead(chatId: chatId, maxId: 0) }
    }

    @discardableResult
    func disconnect() async -> AccountState {
        pump?.cancel()
        await client.disconnect()
        return report(.disconnected)
    }

    /// Stops driving the account without a trace in its status: the connection closes, the
    /// saved session stays (another gateway instance resumes it).
    func release() async {
        pump?.cancel()
        pump = nil
        await client.disconnect()
    }

    /// Logs out at Telegram (the session is destroyed there) and forgets the saved session.
    func logOut() async -> AccountState {
        try? await client.logOut()
        pump?.cancel()
        await client.disconnect()
        loggedIn = false
        saved.session = nil
        return report(.disconnected)
    }

    // MARK: Events

    private func startPump() {
        guard pump == nil else { return }
        let events = client.events
        pump = Task { [weak self] in
            for await event in events {
                guard let self else { return }
                await self.handle(event)
            }
        }
    }

    private func handle(_ event: TelegramEvent) {
        switch event {
        case .stateChanged(let session):
            saved.session = session
            persist(saved)
        case .newMessage(let message), .messageEdited(let message):
            host.emit(.message(Self.channelMessage(message, accountId: accountId)))
        case .messagesDeleted:
            break  // The gateway keeps history; deletions are not mirrored (yet).
        case .readOutbox(let chatId, let maxId):
            host.emit(.messageStatus(MessageStatusUpdate(accountId: accountId, chatId: chatId, externalId: String(maxId), status: .read)))
        case .connection(.connected):
            // Not while logging in (awaiting a code, a password or a QR scan): only a logged-in client is connected.
            if loggedIn { _ = report(.connected) }
        case .connection(.disconnected(let reason)):
            _ = report(.error, error: reason)
        case .connection:
            break
        case .loggedOut(let reason):
            loggedIn = false
            saved.session = nil
            persist(saved)
            _ = report(.disconnected, error: reason)
        case .qrLoginToken(let url, _):
            // AccountStatusUpdate has no loginUrl: the renewed URL is answered by `status` (and `connect`), not pushed.
            loginUrl = url
        case .qrLoginCompleted(let user):
            loginUrl = nil
            loggedIn = true
            if saved.phoneNumber == nil, let phone = user.phone, !phone.isEmpty {
                saved.phoneNumber = phone.hasPrefix("+") ? phone : "+" + phone
                persist(saved)
            }
            _ = report(.connected)
        case .qrLoginPasswordRequired:
            loginUrl = nil
            _ = report(.awaitingPassword)
        case .qrLoginFailed(let reason):
            loginUrl = nil
            _ = report(.error, error: reason)
        }
    }

    // MARK: Helpers

    private func apply(_ step: LoginStep) -> AccountState {
        switch step {
        case .codeSent: return report(.awaitingCode)
        case .passwordRequired: return report(.awaitingPassword)
        case .loggedIn:
            loggedIn = true
            return report(.connected)
        }
    }

    private var displayName: String? { saved.phoneNumber.map { "Telegram \($0)" } }

    @discardableResult
    private func report(_ next: AccountStatus, error: String? = nil) -> AccountState {
        status = next
        lastError = error
        host.emit(.accountStatus(AccountStatusUpdate(accountId: accountId, status: next, error: error, displayName: displayName,
                                                     phone: saved.phoneNumber, organizationId: saved.organizationId)))
        return state
    }

    private func requireConnected() throws {
        guard status == .connected else { throw ChannelError(code: "not_connected", message: "account \(accountId) is not connected") }
    }

    /// Client errors become channel errors with Telegram's own codes, so the API can show them.
    private func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw Self.channelError(error) }
    }

    private func describe(_ error: Error) -> String { Self.channelError(error).message }

    static func channelError(_ error: Error) -> ChannelError {
        guard let error = error as? TelegramClientError else {
            return error as? ChannelError ?? ChannelError(code: "TELEGRAM_ERROR", message: "\(error)")
        }
        switch error {
        case .phoneNumberInvalid: return ChannelError(code: "PHONE_NUMBER_INVALID", message: "the phone number is invalid")
        case .phoneCodeInvalid: return ChannelError(code: "PHONE_CODE_INVALID", message: "the code is invalid")
        case .phoneCodeExpired: return ChannelError(code: "PHONE_CODE_EXPIRED", message: "the code expired: connect again for a new one")
        case .passwordInvalid: return ChannelError(code: "PASSWORD_HASH_INVALID", message: "the password is invalid")
        case .passwordRequired: return ChannelError(code: "SESSION_PASSWORD_NEEDED", message: "the account has a 2FA password")
        case .notLoggedIn: return ChannelError(code: "not_connected", message: "the account is not logged in")
        case .floodWait(let seconds):
            return ChannelError(code: "FLOOD_WAIT", message: "Telegram asks to wait \(seconds) s", retryAfter: seconds)
        case .peerInvalid(let detail): return ChannelError(code: "PEER_ID_INVALID", message: detail)
        case .writeForbidden(let detail): return ChannelError(code: "CHAT_WRITE_FORBIDDEN", message: detail)
        case .loggedOut(let reason): return ChannelError(code: "SESSION_REVOKED", message: reason)
        case .rpc(let code, let message): return ChannelError(code: message, message: "Telegram error \(code) \(message)")
        case .connection(let detail): return ChannelError(code: "CONNECTION_FAILED", message: detail)
        case .invalidState(let detail): return ChannelError(code: "INVALID_STATE", message: detail)
        }
    }

    static func dialog(_ dialog: TelegramDialog) -> Dialog {
        Dialog(chatId: dialog.chatId, kind: chatKind(dialog.kind.rawValue), title: dialog.title, username: dialog.username,
               unreadCount: dialog.unreadCount, lastMessageText: dialog.lastMessage?.text,
               lastMessageDate: dialog.lastMessage?.date.timeIntervalSince1970)
    }

    static func channelMessage(_ message: TelegramMessage, accountId: String) -> ChannelMessage {
        var metadata: [String: JSONValue] = ["telegramMessageId": .number(Double(message.id))]
        if let reply = message.replyToId { metadata["replyTo"] = .string(String(reply)) }
        let contact = message.senderId.map { Contact(id: String($0), name: message.senderName) }
        return ChannelMessage(
            accountId: accountId, chatId: message.chatId, externalId: String(message.id),
            direction: message.outgoing ? .outbound : .inbound, chatKind: chatKind(message.chatKind.rawValue),
            chatTitle: message.chatTitle, contact: contact, text: message.text, metadata: .object(metadata),
            date: message.date.timeIntervalSince1970)
    }

    /// Telegram's user/group/supergroup/channel onto the gateway's user/group/channel.
    static func chatKind(_ telegramKind: String) -> GatewayModel.ChatKind {
        switch telegramKind {
        case "channel": return .channel
        case "group", "supergroup": return .group
        default: return .user
        }
    }
}

/// How `connect` logs an account in.
enum LoginMethod: Equatable {
    /// A code sent to the Telegram app of `phoneNumber` (then `submit_code`, maybe `submit_password`).
    case code
    /// A `tg://login` URL to show as a QR code and scan in the app (then maybe `submit_password`).
    case qr

    /// nil, "code" and "phone": a code; "qr": QR code; anything else: 400.
    init(_ name: String?) throws {
        switch name?.lowercased() {
        case nil, "", "code", "phone": self = .code
        case "qr": self = .qr
        default: throw ChannelError(code: "bad_request", message: "unknown login method \"\(name ?? "")\": use \"code\" or \"qr\"")
        }
    }
}
