/// Request operations every channel understands (the `op` of an invoke request). A channel lists
/// the ones it supports in its descriptor's capabilities.
public enum ChannelOperation: String, Codable, Sendable, CaseIterable {
    case connect
    case submitCode = "submit_code"
    case submitPassword = "submit_password"
    case disconnect
    case logout
    case status
    case dialogs
    case send
    case history
    case markRead = "mark_read"
}

/// `connect`: start (or resume) connecting an account. Credentials depend on the channel.
public struct ConnectRequest: Codable, Sendable, Hashable {
    public var accountId: String
    public var organizationId: String
    public var phoneNumber: String?
    public var apiId: Int?
    public var apiHash: String?
    public var method: String?
    public var config: JSONValue?

    public init(
        accountId: String, organizationId: String, phoneNumber: String? = nil, apiId: Int? = nil,
        apiHash: String? = nil, method: String? = nil, config: JSONValue? = nil
    ) {
        self.accountId = accountId
        self.organizationId = organizationId
        self.phoneNumber = phoneNumber
        self.apiId = apiId
        self.apiHash = apiHash
        self.method = method
        self.config = config
    }
}

/// `submit_code` / `submit_password`.
public struct SecretRequest: Codable, Sendable, Hashable {
    public var accountId: String
    public var code: String?
    public var password: String?

    public init(accountId: String, code: String? = nil, password: String? = nil) {
        self.accountId = accountId
        self.code = code
        self.password = password
    }
}

/// `disconnect`, `logout`, `status`: requests naming only the account.
public struct AccountRequest: Codable, Sendable, Hashable {
    public var accountId: String
    public init(accountId: String) { self.accountId = accountId }
}

/// The answer to `connect`, `submit_*`, `status`.
public struct AccountState: Codable, Sendable, Hashable {
    public var status: AccountStatus
    public var error: String?
    public var displayName: String?
    public var phone: String?
    public var email: String?
    /// For QR login: the `tg://login?token=…` URL to show.
    public var loginUrl: String?

    public init(
        status: AccountStatus, error: String? = nil, displayName: String? = nil, phone: String? = nil,
        email: String? = nil, loginUrl: String? = nil
    ) {
        self.status = status
        self.error = error
        self.displayName = displayName
        self.phone = phone
        self.email = email
        self.loginUrl = loginUrl
    }
}

/// `dialogs`: one page of the account's conversations.
public struct DialogsRequest: Codable, Sendable, Hashable {
    public var accountId: String
    public var limit: Int
    public var cursor: String?

    public init(accountId: String, limit: Int, cursor: String? = nil) {
        self.accountId = accountId
        self.limit = limit
        self.cursor = cursor
    }
}

public struct Dialog: Codable, Sendable, Hashable {
    public var chatId: String
    public var kind: ChatKind
    public var title: String?
    public var username: String?
    public var unreadCount: Int
    public var lastMessageText: String?
    public var lastMessageDate: Double?

    public init(
        chatId: String, kind: ChatKind, title: String?, username: String? = nil, unreadCount: Int,
        lastMessageText: String? = nil, lastMessageDate: Double? = nil
    ) {
        self.chatId = chatId
        self.kind = kind
        self.title = title
        self.username = username
        self.unreadCount = unreadCount
        self.lastMessageText = lastMessageText
        self.lastMessageDate = lastMessageDate
    }
}

public struct DialogsPage: Codable, Sendable, Hashable {
    public var dialogs: [Dialog]
    public var nextCursor: String?

    public init(dialogs: [Dialog], nextCursor: String?) {
        self.dialogs = dialogs
        self.nextCursor = nextCursor
    }
}

/// `send`: post a text into a chat. `idempotencyKey` lets a channel make retries harmless.
public struct SendRequest: Codable, Sendable, Hashable {
    public var accountId: String
    public var chatId: String
    public var text: String
    public var replyTo: String?
    public var idempotencyKey: String

    public init(accountId: String, chatId: String, text: String, replyTo: String? = nil, idempotencyKey: String) {
        self.accountId = accountId
        self.chatId = chatId
        self.text = text
        self.replyTo = replyTo
        self.idempotencyKey = idempotencyKey
    }
}

public struct SendResult: Codable, Sendable, Hashable {
    public var externalId: String
    /// Seconds since 1970.
    public var date: Double

    public init(externalId: String, date: Double) {
        self.externalId = externalId
        self.date = date
    }
}

/// `mark_read`: everything in the chat up to now is read.
public struct MarkReadRequest: Codable, Sendable, Hashable {
    public var accountId: String
    public var chatId: String

    public init(accountId: String, chatId: String) {
        self.accountId = accountId
        self.chatId = chatId
    }
}
