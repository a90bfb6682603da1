import Foundation

/// The model's JSON forms written with `JSONWriter` — the same documents as the Codable
/// conformances produce (Tests/GatewayCoreTests/ModelJSONTests.swift compares them), for the
/// paths that write many of them: API listings and hub events.
extension JSONWriter {
    public mutating func write(_ message: Message) {
        object { w in
            w.field("id", message.id)
            w.field("organizationId", message.organizationId)
            w.field("channel", message.channel)
            w.field("bdAccountId", message.accountId)
            w.field("chatId", message.chatId)
            w.field("channelId", message.chatId)
            w.field("externalId", message.externalId)
            w.field("direction", message.direction.rawValue)
            w.field("contactId", message.contact?.id)
            if let contact = message.contact {
                w.key("contact")
                w.write(contact)
            }
            w.field("content", message.content.text)
            w.key("attachments")
            w.array(message.content.attachments ?? []) { a, attachment in a.write(attachment) }
            w.field("status", message.status.rawValue)
            w.field("isRead", message.isRead)
            w.field("error", message.error)
            if let metadata = message.metadata {
                w.key("metadata")
                w.value(metadata)
            }
            w.field("idempotencyKey", message.idempotencyKey)
            w.field("createdAt", message.createdAt)
            w.field("sentAt", message.sentAt)
        }
    }

    public mutating func write(_ contact: Contact) {
        object { w in
            w.field("id", contact.id)
            w.field("name", contact.name)
            w.field("username", contact.username)
            w.field("phone", contact.phone)
            w.field("email", contact.email)
        }
    }

    public mutating func write(_ attachment: Attachment) {
        object { w in
            w.field("kind", attachment.kind)
            w.field("name", attachment.name)
            w.field("mimeType", attachment.mimeType)
            w.field("size", attachment.size)
        }
    }

    public mutating func write(_ account: Account) {
        object { w in
            w.field("id", account.id)
            w.field("organizationId", account.organizationId)
            w.field("platform", account.platform)
            w.field("displayName", account.displayName)
            w.field("phoneNumber", account.phone)
            w.field("email", account.email)
            w.field("status", account.status.rawValue)
            w.field("isConnected", account.status == .connected)
            w.field("error", account.error)
            w.field("lastActivity", account.lastActivity)
            w.field("createdAt", account.createdAt)
        }
    }

    public mutating func write(_ chat: Chat) {
        object { w in
            w.field("organizationId", chat.organizationId)
            w.field("channel", chat.channel)
            w.field("bdAccountId", chat.accountId)
            w.field("chatId", chat.chatId)
            w.field("channelId", chat.chatId)
            w.field("kind", chat.kind.rawValue)
            w.field("title", chat.title)
            w.field("unreadCount", chat.unreadCount)
            if let message = chat.lastMessage {
                w.key("lastMessage")
                w.write(message)
            }
            w.field("lastActivity", chat.lastActivity)
        }
    }

    public mutating func write(_ change: MessageStatusChange) {
        object { w in
            w.field("messageId", change.messageId)
            w.field("channel", change.channel)
            w.field("bdAccountId", change.accountId)
            w.field("chatId", change.chatId)
            w.field("channelId", change.chatId)
            w.field("externalId", change.externalId)
            w.field("status", change.status.rawValue)
            w.field("error", change.error)
        }
    }

    /// `{id, type, organizationId, timestamp, data}`, plus the hub's `offset` when given.
    public mutating func write(_ event: GatewayEvent, offset: Int? = nil) {
        object { w in
            w.field("id", event.id)
            w.field("type", event.type.rawValue)
            w.field("organizationId", event.organizationId)
            w.field("timestamp", event.timestamp)
            w.key("data")
            switch event.data {
            case .message(let message): w.write(message)
            case .messageStatus(let change): w.write(change)
            case .account(let account): w.write(account)
            }
            w.field("offset", offset)
        }
    }
}
