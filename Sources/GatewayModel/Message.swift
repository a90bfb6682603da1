import Foundation

/// The other party of a message, as the channel knows it.
public struct Contact: Codable, Sendable, Hashable {
    /// The channel's user id (Telegram user id, email address, …).
    public var id: String
    public var name: String?
    public var username: String?
    public var phone: String?
    public var email: String?

    public init(id: String, name: String? = nil, username: String? = nil, phone: String? = nil, email: String? = nil) {
        self.id = id
        self.name = name
        self.username = username
        self.phone = phone
        self.email = email
    }
}

/// Attachment metadata (the gateway stores descriptions, not file bodies).
public struct Attachment: Codable, Sendable, Hashable {
    public var kind: String
    public var name: String?
    public var mimeType: String?
    public var size: Int?

    public init(kind: String, name: String? = nil, mimeType: String? = nil, size: Int? = nil) {
        self.kind = kind
        self.name = name
        self.mimeType = mimeType
        self.size = size
    }
}

public struct MessageContent: Codable, Sendable, Hashable {
    public var text: String
    public var attachments: [Attachment]?

    public init(text: String, attachments: [Attachment]? = nil) {
        self.text = text
        self.attachments = attachments
    }
}

/// A normalized message, whatever channel it came from.
public struct Message: Codable, Sendable, Hashable {
    public var id: UUID
    public var organizationId: String
    public var channel: String
    public var accountId: String
    public var chatId: String
    public var externalId: String?
    public var direction: Direction
    public var contact: Contact?
    public var content: MessageContent
    public var status: MessageStatus
    public var isRead: Bool
    public var error: String?
    public var metadata: JSONValue?
    /// The key an API client sent it with (outbound sends only).
    public var idempotencyKey: String?
    public var createdAt: Date
    public var sentAt: Date?

    public init(
        id: UUID = .timeOrdered(), organizationId: String, channel: String, accountId: String, chatId: String,
        externalId: String?, direction: Direction, contact: Contact?, content: MessageContent,
        status: MessageStatus, isRead: Bool, error: String? = nil, metadata: JSONValue? = nil,
        idempotencyKey: String? = nil, createdAt: Date, sentAt: Date?
    ) {
        self.id = id
        self.organizationId = organizationId
        self.channel = channel
        self.accountId = accountId
        self.chatId = chatId
        self.externalId = externalId
        self.direction = direction
        self.contact = contact
        self.content = content
        self.status = status
        self.isRead = isRead
        self.error = error
        self.metadata = metadata
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}
