import Foundation
import GatewayModel

/// What the messaging endpoints do: queries scoped to the caller's organization, and sends
/// that are stored first, then sent through the account's plugin, exactly once per key.
struct MessagingService: Sendable {
    let store: any GatewayStore
    let accounts: AccountService
    let plugins: PluginHost
    let pipeline: IngestPipeline

    struct SendBody: Decodable {
        var channel: String?
        var channelId: String
        var content: String
        var bdAccountId: String
        var contactId: String?
        var replyTo: String?
        var idempotencyKey: String?
    }

    /// The sent (or already known) message and whether this call created it.
    func send(_ body: SendBody, by caller: Principal) async throws -> (Message, created: Bool) {
        guard !body.channelId.isEmpty else { throw APIError.validation("channelId", "channelId must not be empty") }
        guard !body.content.isEmpty else { throw APIError.validation("content", "content must not be empty") }
        if let key = body.idempotencyKey, key.isEmpty || key.utf8.count > 200 {
            throw APIError.validation("idempotencyKey", "idempotencyKey must have 1 to 200 characters")
        }
        let account = try await accounts.find(body.bdAccountId, for: caller)
        if let channel = body.channel, channel != account.platform {
            throw APIError.validation("channel", "account \(account.id) is a \(account.platform) account, not \(channel)")
        }
        let key = body.idempotencyKey ?? UUID().lowercasedString
        let now = Date()
        let pending = Message(
            organizationId: caller.organizationId, channel: account.platform, accountId: account.id, chatId: body.channelId,
            externalId: nil, direction: .outbound, contact: body.contactId.map { Contact(id: $0) },
            content: MessageContent(text: body.content), status: .pending, isRead: true,
            metadata: body.replyTo.map { ["replyTo": .string($0)] }, createdAt: now, sentAt: nil)
        switch try await store.write([.insertOutbound(pending, idempotencyKey: key)]).first {
        case .existing(let earlier): return (earlier, false)
        case .inserted: break
        default: throw APIError(.conflict, "conflict", "the message could not be stored")
        }

        let request = SendRequest(accountId: account.id, chatId: body.channelId, text: body.content, replyTo: body.replyTo, idempotencyKey: key)
        do {
            let result = try await plugins.invoke(platform: account.platform, op: "send", request, as: SendResult.self)
            let sent = try await complete(pending.id, externalId: result.externalId, status: .sent, error: nil,
                                          sentAt: Date(timeIntervalSince1970: result.date))
            announce(.messageSent, .message(sent), sent, direction: .outbound)
            return (sent, true)
        } catch let error as ChannelError {
            let failed = try await complete(pending.id, externalId: nil, status: .failed, error: "\(error.code): \(error.message)", sentAt: nil)
            let change = MessageStatusChange(
                messageId: failed.id, channel: failed.channel, accountId: failed.accountId, chatId: failed.chatId,
                externalId: nil, status: .failed, error: failed.error)
            announce(.messageStatus, .messageStatus(change), failed, direction: nil)
            var apiError = APIError.channel(error)
            var details = apiError.details?.objectValue ?? [:]
            if let message = try? JSONDecoder().decode(JSONValue.self, from: JSONEncoder.gateway().encode(failed)) {
                details["message"] = message
            }
            apiError.details = .object(details)
            throw apiError
        }
    }

    private func complete(_ id: UUID, externalId: String?, status: MessageStatus, error: String?, sentAt: Date?) async throws -> Message {
        guard case .updated(let message) = try await store.write([
            .completeSend(messageId: id, externalId: externalId, status: status, error: error, sentAt: sentAt)
        ]).first else {
            throw APIError(.conflict, "conflict", "the message \(id) disappeared while it was sent")
        }
        return message
    }

    private func announce(_ type: EventType, _ data: EventData, _ message: Message, direction: Direction?) {
        let event = GatewayEvent(type: type, organizationId: message.organizationId, data: data)
        pipeline.announce(event, facts: RoutingFacts(
            type: type, channel: message.channel, accountId: message.accountId, direction: direction, chatId: message.chatId,
            text: message.content.text))
    }

    func message(_ id: String, for caller: Principal) async throws -> Message {
        guard let uuid = UUID(text: id), let message = try await store.message(id: uuid, organizationId: caller.organizationId)
        else { throw APIError.notFound("message") }
        return message
    }

    /// Marks the chat read in the store and tells each account's channel that supports it. In a
    /// cluster, `relay` sends the receipt of an account another instance drives through that one.
    func markAllRead(
        chatId: String, accountId: String?, by caller: Principal, relay: (@Sendable (Account) async -> Bool)? = nil
    ) async throws -> Int {
        if let accountId { _ = try await accounts.find(accountId, for: caller) }
        guard case .markedRead(let counts) = try await store.write([
            .markChatRead(organizationId: caller.organizationId, chatId: chatId, accountId: accountId)
        ]).first else { throw APIError.notFound("chat") }
        for accountId in counts.keys {
            guard let account = try? await accounts.find(accountId, for: caller), account.status == .connected,
                plugins.capabilities(of: account.platform)?.contains("mark_read") == true
            else { continue }
            let plugins = self.plugins
            Task {
                _ = try? await plugins.invoke(
                    platform: account.platform, op: "mark_read", MarkReadRequest(accountId: accountId, chatId: chatId), as: JSONValue.self)
            }
        }
        return counts.values.reduce(0, +)
    }
}
                if let relay, await relay(account) { return }
