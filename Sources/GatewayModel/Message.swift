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
public struct Message: Sendable, Hashable {
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

/// One JSON form of a message everywhere (REST answers, hub events, webhooks, the bus), in the
/// original services' names: `bdAccountId`, `channelId` (= chatId), `contactId`, `content` as text.
extension Message: Codable {
    private enum Field: String, CodingKey {
        case id, organizationId, channel, bdAccountId, chatId, channelId, externalId, direction, contactId, contact
        case content, attachments, status, isRead, error, metadata, idempotencyKey, createdAt, sentAt
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(id.lowercasedString, forKey: .id)
        try container.encode(organizationId, forKey: .organizationId)
        try container.encode(channel, forKey: .channel)
        try container.encode(accountId, forKey: .bdAccountId)
        try container.encode(chatId, forKey: .chatId)
        try container.encode(chatId, forKey: .channelId)
        try container.encodeIfPresent(externalId, forKey: .externalId)
        try container.encode(direction, forKey: .direction)
        try container.encodeIfPresent(contact?.id, forKey: .contactId)
        try container.encodeIfPresent(contact, forKey: .contact)
        try container.encode(content.text, forKey: .content)
        try container.encode(content.attachments ?? [], forKey: .attachments)
        try container.encode(status, forKey: .status)
        try container.encode(isRead, forKey: .isRead)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encodeIfPresent(metadata, forKey: .metadata)
        try container.encodeIfPresent(idempotencyKey, forKey: .idempotencyKey)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(sentAt, forKey: .sentAt)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Field.self)
        let idText = try container.decode(String.self, forKey: .id)
        guard let id = UUID(text: idText) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: container, debugDescription: "not a UUID: \(idText)")
        }
        let attachments = try container.decodeIfPresent([Attachment].self, forKey: .attachments)
        self.init(
            id: id, organizationId: try container.decode(String.self, forKey: .organizationId),
            channel: try container.decode(String.self, forKey: .channel),
            accountId: try container.decode(String.self, forKey: .bdAccountId),
            chatId: try container.decode(String.self, forKey: .chatId),
            externalId: try container.decodeIfPresent(String.self, forKey: .externalId),
            direction: try container.decode(Direction.self, forKey: .direction),
            contact: try container.decodeIfPresent(Contact.self, forKey: .contact),
            content: MessageContent(text: try container.decode(String.self, forKey: .content), attachments: attachments?.isEmpty == false ? attachments : nil),
            status: try container.decode(MessageStatus.self, forKey: .status),
            isRead: try container.decode(Bool.self, forKey: .isRead),
            error: try container.decodeIfPresent(String.self, forKey: .error),
            metadata: try container.decodeIfPresent(JSONValue.self, forKey: .metadata),
            idempotencyKey: try container.decodeIfPresent(String.self, forKey: .idempotencyKey),
            createdAt: try container.decode(Date.self, forKey: .createdAt),
            sentAt: try container.decodeIfPresent(Date.self, forKey: .sentAt))
    }
}
