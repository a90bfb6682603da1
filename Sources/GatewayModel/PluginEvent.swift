import Foundation

/// What a plugin emits through `gw_host.emit`: one JSON object with a `type` discriminator.
/// This is the wire form of docs/PLUGIN_ABI.md "Events"; the host turns it into a `GatewayEvent`.
public enum PluginEvent: Sendable, Hashable {
    /// A message seen on the channel (inbound, or outbound sent from another device).
    case message(ChannelMessage)
    /// A stored message changed status (delivered, read, failed).
    case messageStatus(MessageStatusUpdate)
    /// The account's connection status changed.
    case accountStatus(AccountStatusUpdate)
}

/// A message as a plugin reports it. `externalId` is derived from the channel (e.g. Telegram's
/// message id) so that redelivery of the same message is deduplicated by the store.
public struct ChannelMessage: Codable, Sendable, Hashable {
    public var accountId: String
    public var chatId: String
    public var externalId: String
    public var direction: Direction
    public var chatKind: ChatKind?
    public var chatTitle: String?
    public var contact: Contact?
    public var text: String
    public var attachments: [Attachment]?
    public var metadata: JSONValue?
    /// When the channel says the message was sent (seconds since 1970); defaults to arrival time.
    public var date: Double?

    public init(
        accountId: String, chatId: String, externalId: String, direction: Direction = .inbound,
        chatKind: ChatKind? = nil, chatTitle: String? = nil, contact: Contact? = nil, text: String,
        attachments: [Attachment]? = nil, metadata: JSONValue? = nil, date: Double? = nil
    ) {
        self.accountId = accountId
        self.chatId = chatId
        self.externalId = externalId
        self.direction = direction
        self.chatKind = chatKind
        self.chatTitle = chatTitle
        self.contact = contact
        self.text = text
        self.attachments = attachments
        self.metadata = metadata
        self.date = date
    }
}

public struct MessageStatusUpdate: Codable, Sendable, Hashable {
    public var accountId: String
    public var chatId: String
    public var externalId: String
    public var status: MessageStatus
    public var error: String?

    public init(accountId: String, chatId: String, externalId: String, status: MessageStatus, error: String? = nil) {
        self.accountId = accountId
        self.chatId = chatId
        self.externalId = externalId
        self.status = status
        self.error = error
    }
}

public struct AccountStatusUpdate: Codable, Sendable, Hashable {
    public var accountId: String
    public var status: AccountStatus
    /// Only for accounts a plugin declares itself (from its own config): the host creates the
    /// account in this organization if it does not exist yet.
    public var organizationId: String?
    public var error: String?
    public var displayName: String?
    public var phone: String?
    public var email: String?

    public init(
        accountId: String, status: AccountStatus, error: String? = nil, displayName: String? = nil,
        phone: String? = nil, email: String? = nil, organizationId: String? = nil
    ) {
        self.accountId = accountId
        self.status = status
        self.organizationId = organizationId
        self.error = error
        self.displayName = displayName
        self.phone = phone
        self.email = email
    }
}

extension PluginEvent: Codable {
    private enum Kind: String, Codable {
        case message
        case messageStatus = "message_status"
        case accountStatus = "account_status"
    }

    /// Every field of every event kind: decoding reads one keyed container per event (this is
    /// the ingest hot path; a container per nested init would index the object twice).
    private enum Field: String, CodingKey {
        case type, accountId, chatId, externalId, direction, chatKind, chatTitle, contact, text, attachments
        case metadata, date, status, error, displayName, phone, email, organizationId
    }

    public init(from decoder: Decoder) throws {
        let fields = try decoder.container(keyedBy: Field.self)
        let accountId = try fields.decode(String.self, forKey: .accountId)
        switch try fields.decode(Kind.self, forKey: .type) {
        case .message:
            self = .message(ChannelMessage(
                accountId: accountId, chatId: try fields.decode(String.self, forKey: .chatId),
                externalId: try fields.decode(String.self, forKey: .externalId),
                direction: try fields.decodeIfPresent(Direction.self, forKey: .direction) ?? .inbound,
                chatKind: try fields.decodeIfPresent(ChatKind.self, forKey: .chatKind),
                chatTitle: try fields.decodeIfPresent(String.self, forKey: .chatTitle),
                contact: try fields.decodeIfPresent(Contact.self, forKey: .contact),
                text: try fields.decode(String.self, forKey: .text),
                attachments: try fields.decodeIfPresent([Attachment].self, forKey: .attachments),
                metadata: try fields.decodeIfPresent(JSONValue.self, forKey: .metadata),
                date: try fields.decodeIfPresent(Double.self, forKey: .date)))
        case .messageStatus:
            self = .messageStatus(MessageStatusUpdate(
                accountId: accountId, chatId: try fields.decode(String.self, forKey: .chatId),
                externalId: try fields.decode(String.self, forKey: .externalId),
                status: try fields.decode(MessageStatus.self, forKey: .status),
                error: try fields.decodeIfPresent(String.self, forKey: .error)))
        case .accountStatus:
            self = .accountStatus(AccountStatusUpdate(
                accountId: accountId, status: try fields.decode(AccountStatus.self, forKey: .status),
                error: try fields.decodeIfPresent(String.self, forKey: .error),
                displayName: try fields.decodeIfPresent(String.self, forKey: .displayName),
                phone: try fields.decodeIfPresent(String.self, forKey: .phone),
                email: try fields.decodeIfPresent(String.self, forKey: .email),
                organizationId: try fields.decodeIfPresent(String.self, forKey: .organizationId)))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        switch self {
        case .message(let value):
            try container.encode(Kind.message, forKey: .type)
            try value.encode(to: encoder)
        case .messageStatus(let value):
            try container.encode(Kind.messageStatus, forKey: .type)
            try value.encode(to: encoder)
        case .accountStatus(let value):
            try container.encode(Kind.accountStatus, forKey: .type)
            try value.encode(to: encoder)
        }
    }
}
