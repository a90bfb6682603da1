import Foundation
import GatewayModel

/// One change the ingest pipeline asks the store to make. A batch of them is applied in one
/// transaction, in order.
public enum StoreWrite: Sendable {
    /// Create the account, or update its status and profile fields.
    case upsertAccount(Account)
    /// Store the message unless (accountId, chatId, externalId) is already stored; keep the chat
    /// (unread count, last message) and the contact up to date.
    case insertMessage(Message, chat: ChatInfo)
    /// Move a stored message forward to a new status.
    case updateStatus(MessageStatusUpdate)
    /// Store a message the API is about to send, unless its idempotency key was used before
    /// (then the earlier message is the result).
    case insertOutbound(Message, idempotencyKey: String)
    /// Record how a send ended: `sent` with the channel's id, or `failed` with its error.
    case completeSend(messageId: UUID, externalId: String?, status: MessageStatus, error: String?, sentAt: Date?)
    /// Everything in a chat (of one account, or of all) is read.
    case markChatRead(organizationId: String, chatId: String, accountId: String?)
    /// Forget an account (its messages stay as history).
    case deleteAccount(id: String)
}

/// Chat facts that arrive with a message.
public struct ChatInfo: Sendable, Hashable {
    public var kind: ChatKind
    public var title: String?

    public init(kind: ChatKind, title: String?) {
        self.kind = kind
        self.title = title
    }
}

/// What one `StoreWrite` did.
public enum StoreWriteResult: Sendable, Equatable {
    case account(Account)
    case inserted(Message)
    /// The message was already stored: nothing changed, nothing to fan out.
    case duplicate
    case statusChanged(MessageStatusChange, organizationId: String)
    /// The status update named an unknown message or would move it backwards.
    case unchanged
    /// The idempotency key was used before: this is the earlier message.
    case existing(Message)
    /// A message after `completeSend`.
    case updated(Message)
    /// `markChatRead`: messages marked, per account.
    case markedRead([String: Int])
    case deleted
}

public struct StoreStats: Sendable, Codable, Equatable {
    public var backend: String
    public var messages: Int
    public var chats: Int
    public var accounts: Int
}

/// Persistence of the gateway. The embedded SQLite store implements it; the PostgreSQL store
/// will too, so it speaks in batches and plain values, never in SQLite-only terms. The outbox of
/// events bound for RabbitMQ is part of it (EventOutbox.swift).
public protocol GatewayStore: EventOutboxStore {
    /// Create or upgrade the schema; idempotent.
    func migrate() async throws
    /// Apply the writes in one transaction; results are in the same order.
    func write(_ batch: [StoreWrite]) async throws -> [StoreWriteResult]
    func account(id: String) async throws -> Account?
    func accounts(organizationId: String) async throws -> [Account]
    func message(id: UUID, organizationId: String) async throws -> Message?
    func messages(_ query: MessageQuery) async throws -> Page<Message>
    func chats(_ query: ChatQuery) async throws -> Page<Chat>
    /// The same pages as `messages` and `chats`, their items written into `writer` as a JSON
    /// array in the API's form (the listings' fast path: a store may write rows directly).
    func writeMessages(_ query: MessageQuery, into writer: inout JSONWriter) async throws -> PagePosition
    func writeChats(_ query: ChatQuery, into writer: inout JSONWriter) async throws -> PagePosition
    /// Whether the organization has a chat with this id (on any account).
    func chatExists(organizationId: String, chatId: String) async throws -> Bool
    func messagingStats(organizationId: String, from: Date, to: Date) async throws -> MessagingStats
    func recordWebhookFailure(_ failure: WebhookFailure) async throws
    func webhookFailures(organizationId: String) async throws -> [WebhookFailure]
    func removeWebhookFailure(id: UUID, organizationId: String) async throws -> WebhookFailure?
    func stats() async throws -> StoreStats
    /// Finish pending work and release connections.
    func close() async
}

extension GatewayStore {
    /// Listings written from the model values.
    public func writeMessages(_ query: MessageQuery, into writer: inout JSONWriter) async throws -> PagePosition {
        let page = try await messages(query)
        writer.array(page.items) { $0.write($1) }
        return page.position
    }

    public func writeChats(_ query: ChatQuery, into writer: inout JSONWriter) async throws -> PagePosition {
        let page = try await chats(query)
        writer.array(page.items) { $0.write($1) }
        return page.position
    }
}

/// Durable per-plugin key/value state behind the ABI's state_get/put/delete. Synchronous: the C
/// ABI returns values in the call; implementations keep these calls short and local.
public protocol PluginStateStore: Sendable {
    func get(plugin: String, key: String) throws -> Data?
    func put(plugin: String, key: String, value: Data) throws
    func delete(plugin: String, key: String) throws
}
