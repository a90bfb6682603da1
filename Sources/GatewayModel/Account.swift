import Foundation

/// A BD account: one connected channel identity (a Telegram user account, a mailbox, …).
public struct Account: Codable, Sendable, Hashable {
    public var id: String
    public var organizationId: String
    public var platform: String
    public var displayName: String?
    public var phone: String?
    public var email: String?
    public var status: AccountStatus
    public var error: String?
    public var lastActivity: Date?
    public var createdAt: Date

    public init(
        id: String, organizationId: String, platform: String, displayName: String? = nil, phone: String? = nil,
        email: String? = nil, status: AccountStatus, error: String? = nil, lastActivity: Date? = nil, createdAt: Date
    ) {
        self.id = id
        self.organizationId = organizationId
        self.platform = platform
        self.displayName = displayName
        self.phone = phone
        self.email = email
        self.status = status
        self.error = error
        self.lastActivity = lastActivity
        self.createdAt = createdAt
    }
}

/// A conversation of an account, with what a CRM inbox shows about it.
public struct Chat: Codable, Sendable, Hashable {
    public var organizationId: String
    public var channel: String
    public var accountId: String
    public var chatId: String
    public var kind: ChatKind
    public var title: String?
    public var unreadCount: Int
    public var lastMessage: Message?
    public var lastActivity: Date?

    public init(
        organizationId: String, channel: String, accountId: String, chatId: String, kind: ChatKind,
        title: String?, unreadCount: Int, lastMessage: Message?, lastActivity: Date?
    ) {
        self.organizationId = organizationId
        self.channel = channel
        self.accountId = accountId
        self.chatId = chatId
        self.kind = kind
        self.title = title
        self.unreadCount = unreadCount
        self.lastMessage = lastMessage
        self.lastActivity = lastActivity
    }
}
