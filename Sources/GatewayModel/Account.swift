import Foundation

/// A BD account: one connected channel identity (a Telegram user account, a mailbox, …).
public struct Account: Sendable, Hashable {
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

/// The JSON form of an account, in the original services' names (`phoneNumber`, `isConnected`).
extension Account: Codable {
    private enum Field: String, CodingKey {
        case id, organizationId, platform, displayName, phoneNumber, email, status, isConnected, error, lastActivity, createdAt
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(id, forKey: .id)
        try container.encode(organizationId, forKey: .organizationId)
        try container.encode(platform, forKey: .platform)
        try container.encodeIfPresent(displayName, forKey: .displayName)
        try container.encodeIfPresent(phone, forKey: .phoneNumber)
        try container.encodeIfPresent(email, forKey: .email)
        try container.encode(status, forKey: .status)
        try container.encode(status == .connected, forKey: .isConnected)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encodeIfPresent(lastActivity, forKey: .lastActivity)
        try container.encode(createdAt, forKey: .createdAt)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Field.self)
        self.init(
            id: try container.decode(String.self, forKey: .id),
            organizationId: try container.decode(String.self, forKey: .organizationId),
            platform: try container.decode(String.self, forKey: .platform),
            displayName: try container.decodeIfPresent(String.self, forKey: .displayName),
            phone: try container.decodeIfPresent(String.self, forKey: .phoneNumber),
            email: try container.decodeIfPresent(String.self, forKey: .email),
            status: try container.decode(AccountStatus.self, forKey: .status),
            error: try container.decodeIfPresent(String.self, forKey: .error),
            lastActivity: try container.decodeIfPresent(Date.self, forKey: .lastActivity),
            createdAt: try container.decode(Date.self, forKey: .createdAt))
    }
}

/// A conversation of an account, with what a CRM inbox shows about it.
public struct Chat: Sendable, Hashable {
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

/// The JSON form of a chat: `bdAccountId`, `channelId` (= chatId), the last message in full.
extension Chat: Codable {
    private enum Field: String, CodingKey {
        case organizationId, channel, bdAccountId, chatId, channelId, kind, title, unreadCount, lastMessage, lastActivity
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(organizationId, forKey: .organizationId)
        try container.encode(channel, forKey: .channel)
        try container.encode(accountId, forKey: .bdAccountId)
        try container.encode(chatId, forKey: .chatId)
        try container.encode(chatId, forKey: .channelId)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(title, forKey: .title)
        try container.encode(unreadCount, forKey: .unreadCount)
        try container.encodeIfPresent(lastMessage, forKey: .lastMessage)
        try container.encodeIfPresent(lastActivity, forKey: .lastActivity)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Field.self)
        self.init(
            organizationId: try container.decode(String.self, forKey: .organizationId),
            channel: try container.decode(String.self, forKey: .channel),
            accountId: try container.decode(String.self, forKey: .bdAccountId),
            chatId: try container.decode(String.self, forKey: .chatId), kind: try container.decode(ChatKind.self, forKey: .kind),
            title: try container.decodeIfPresent(String.self, forKey: .title),
            unreadCount: try container.decode(Int.self, forKey: .unreadCount),
            lastMessage: try container.decodeIfPresent(Message.self, forKey: .lastMessage),
            lastActivity: try container.decodeIfPresent(Date.self, forKey: .lastActivity))
    }
}
