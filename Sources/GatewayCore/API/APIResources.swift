import Foundation
import GatewayModel

/// JSON forms of the API, in the original services' camelCase names.
struct AccountResource: Encodable {
    var id: String
    var organizationId: String
    var platform: String
    var phoneNumber: String?
    var email: String?
    var displayName: String?
    var status: AccountStatus
    var isConnected: Bool
    var error: String?
    var lastActivity: Date?
    var createdAt: Date
    var loginUrl: String?

    init(_ account: Account, loginUrl: String? = nil) {
        id = account.id
        organizationId = account.organizationId
        platform = account.platform
        phoneNumber = account.phone
        email = account.email
        displayName = account.displayName
        status = account.status
        isConnected = account.status == .connected
        error = account.error
        lastActivity = account.lastActivity
        createdAt = account.createdAt
        self.loginUrl = loginUrl
    }
}

struct AccountStatusResource: Encodable {
    var id: String
    var status: AccountStatus
    var isConnected: Bool
    var lastActivity: Date?
    var error: String?

    init(_ account: Account) {
        id = account.id
        status = account.status
        isConnected = account.status == .connected
        lastActivity = account.lastActivity
        error = account.error
    }
}

struct MessageResource: Encodable {
    var id: String
    var organizationId: String
    var channel: String
    var bdAccountId: String
    var chatId: String
    var channelId: String
    var externalId: String?
    var direction: Direction
    var contactId: String?
    var contact: Contact?
    var content: String
    var attachments: [Attachment]
    var status: MessageStatus
    var isRead: Bool
    var error: String?
    var metadata: JSONValue?
    var idempotencyKey: String?
    var createdAt: Date
    var sentAt: Date?

    init(_ message: Message) {
        id = message.id.uuidString.lowercased()
        organizationId = message.organizationId
        channel = message.channel
        bdAccountId = message.accountId
        chatId = message.chatId
        channelId = message.chatId
        externalId = message.externalId
        direction = message.direction
        contactId = message.contact?.id
        contact = message.contact
        content = message.content.text
        attachments = message.content.attachments ?? []
        status = message.status
        isRead = message.isRead
        error = message.error
        metadata = message.metadata
        idempotencyKey = message.idempotencyKey
        createdAt = message.createdAt
        sentAt = message.sentAt
    }
}

struct ChatResource: Encodable {
    var chatId: String
    var channelId: String
    var channel: String
    var bdAccountId: String
    var kind: ChatKind
    var title: String?
    var unreadCount: Int
    var lastMessage: MessageResource?
    var lastActivity: Date?

    init(_ chat: Chat) {
        chatId = chat.chatId
        channelId = chat.chatId
        channel = chat.channel
        bdAccountId = chat.accountId
        kind = chat.kind
        title = chat.title
        unreadCount = chat.unreadCount
        lastMessage = chat.lastMessage.map(MessageResource.init)
        lastActivity = chat.lastActivity
    }
}

struct PaginationResource: Encodable {
    var limit: Int
    var hasMore: Bool
    var nextCursor: String?
    var page: Int?
    var total: Int?
    var totalPages: Int?

    init<Item>(_ page: Page<Item>, limit: Int, paging: PageRequest) {
        self.limit = limit
        hasMore = page.hasMore
        nextCursor = page.nextCursor
        if case .page(let number) = paging {
            self.page = number
            total = page.total
            totalPages = page.total.map { ($0 + limit - 1) / limit }
        }
    }
}

struct WebhookFailureResource: Encodable {
    var id: String
    var url: String
    var eventId: String
    var eventType: String
    var attempts: Int
    var lastError: String
    var failedAt: Date

    init(_ failure: WebhookFailure) {
        id = failure.id.uuidString.lowercased()
        url = failure.url
        eventId = failure.eventId.uuidString.lowercased()
        eventType = failure.eventType
        attempts = failure.attempts
        lastError = failure.lastError
        failedAt = failure.failedAt
    }
}
