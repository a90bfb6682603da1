import Foundation

/// Where a login stands after each step.
public enum LoginStep: Sendable, Equatable {
    /// A code was sent (its length when Telegram says; `nextType` is how `auth.resendCode` would send it).
    case codeSent(codeLength: Int?, nextType: String?)
    /// The account has two-step verification: call `checkPassword`.
    case passwordRequired(hint: String?)
    case loggedIn(TelegramUser)
}

public struct TelegramUser: Sendable, Equatable, Codable {
    public var id: Int64
    public var firstName: String?
    public var lastName: String?
    public var username: String?
    public var phone: String?

    public init(id: Int64, firstName: String? = nil, lastName: String? = nil, username: String? = nil, phone: String? = nil) {
        self.id = id
        self.firstName = firstName
        self.lastName = lastName
        self.username = username
        self.phone = phone
    }

    /// "first last", or the username, or the phone.
    public var displayName: String? {
        let name = [firstName, lastName].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        return name.isEmpty ? (username ?? phone) : name
    }
}

public enum ChatKind: String, Sendable, Codable {
    case user, group, supergroup, channel
}

public struct TelegramMessage: Sendable, Equatable {
    /// Bot-API-style marked id: user "123", basic group "-123", channel/supergroup "-100123".
    public var chatId: String
    public var id: Int32
    public var date: Date
    public var text: String
    public var outgoing: Bool
    public var senderId: Int64?
    public var senderName: String?
    public var replyToId: Int32?
    public var chatKind: ChatKind
    public var chatTitle: String?

    public init(chatId: String, id: Int32, date: Date, text: String, outgoing: Bool, senderId: Int64?, senderName: String?,
                replyToId: Int32?, chatKind: ChatKind, chatTitle: String?) {
        self.chatId = chatId
        self.id = id
        self.date = date
        self.text = text
        self.outgoing = outgoing
        self.senderId = senderId
        self.senderName = senderName
        self.replyToId = replyToId
        self.chatKind = chatKind
        self.chatTitle = chatTitle
    }
}

public struct TelegramDialog: Sendable, Equatable {
    public var chatId: String
    public var kind: ChatKind
    public var title: String
    public var username: String?
    public var unreadCount: Int
    public var lastMessage: TelegramMessage?

    public init(chatId: String, kind: ChatKind, title: String, username: String?, unreadCount: Int, lastMessage: TelegramMessage?) {
        self.chatId = chatId
        self.kind = kind
        self.title = title
        self.username = username
        self.unreadCount = unreadCount
        self.lastMessage = lastMessage
    }
}

public struct DialogPage: Sendable {
    public var dialogs: [TelegramDialog]
    /// Pass to `dialogs(limit:cursor:)` for the next page; nil on the last page. Opaque.
    public var nextCursor: String?
    /// The server's total, when it reports one (messages.dialogsSlice).
    public var totalCount: Int?

    public init(dialogs: [TelegramDialog], nextCursor: String?, totalCount: Int?) {
        self.dialogs = dialogs
        self.nextCursor = nextCursor
        self.totalCount = totalCount
    }
}

public enum ConnectionStatus: Sendable, Equatable {
    case connected
    case reconnecting
    case disconnected(reason: String)
}

public enum TelegramEvent: Sendable {
    /// Persist this state (it only includes pts whose messages were already emitted).
    case stateChanged(TelegramSessionState)
    /// Incoming messages and our own sent from elsewhere, in pts order, at most once per (chatId, id)
    /// per client (messages sent through `sendMessage` are its return value, not an event).
    case newMessage(TelegramMessage)
    case messageEdited(TelegramMessage)
    case messagesDeleted(chatId: String?, ids: [Int32])
    /// The other side read our messages up to `maxId`.
    case readOutbox(chatId: String, maxId: Int32)
    case connection(ConnectionStatus)
    /// The authorization is gone (AUTH_KEY_UNREGISTERED, SESSION_REVOKED, AUTH_KEY_DUPLICATED, …); never retried.
    case loggedOut(reason: String)
    /// QR login (`startQRLogin`): the previous token is about to expire; show this URL instead.
    case qrLoginToken(url: String, expires: Date)
    /// QR login: the code was scanned and the account is logged in (as after `.loggedIn`).
    case qrLoginCompleted(TelegramUser)
    /// QR login: the code was scanned but the account has two-step verification: call `checkPassword`.
    case qrLoginPasswordRequired(hint: String?)
    /// QR login stopped: tokens could not be renewed or the scanned login could not be completed.
    case qrLoginFailed(reason: String)
}

/// A QR login token to show (as a QR code) until `expires`; the client renews it before then
/// (`TelegramEvent.qrLoginToken`).
public struct QRLoginToken: Sendable, Equatable {
    /// `tg://login?token=<base64url of the token>`.
    public var url: String
    /// When the token expires, on this machine's clock.
    public var expires: Date

    public init(url: String, expires: Date) {
        self.url = url
        self.expires = expires
    }
}

public enum TelegramClientError: Error, Equatable, Sendable {
    case phoneNumberInvalid
    case phoneCodeInvalid
    case phoneCodeExpired
    case passwordInvalid
    case passwordRequired
    case notLoggedIn
    case floodWait(seconds: Int)
    case peerInvalid(String)
    case writeForbidden(String)
    case loggedOut(String)
    case rpc(code: Int32, message: String)
    case connection(String)
    case invalidState(String)
}
