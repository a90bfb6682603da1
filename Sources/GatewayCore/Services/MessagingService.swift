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
            let (sent, event) = try await complete(pending, externalId: result.externalId, status: .sent, error: nil,
                                                   sentAt: Date(timeIntervalSince1970: result.date))
            pipeline.announce(event, facts: Self.facts(of: event, sent))
            return (sent, true)
        } catch let error as ChannelError {
            let (failed, event) = try await complete(pending, externalId: nil, status: .failed, error: "\(error.code): \(error.message)", sentAt: nil)
            pipeline.announce(event, facts: Self.facts(of: event, failed))
            var apiError = APIError.channel(error)
            var details = apiError.details?.objectValue ?? [:]
            if let message = try? JSONDecoder().decode(JSONValue.self, from: JSONEncoder.gateway().encode(failed)) {
                details["message"] = message
            }
            apiError.details = .object(details)
            throw apiError
        }
    }

    /// Records how the send ended and, in the same transaction, puts the event announcing it
    /// (MESSAGE_SENT, or MESSAGE_STATUS `failed`) in the RabbitMQ outbox when a route publishes it.
    private func complete(_ pending: Message, externalId: String?, status: MessageStatus, error: String?, sentAt: Date?)
        async throws -> (Message, GatewayEvent)
    {
        let type: EventType = status == .failed ? .messageStatus : .messageSent
        let id = UUID()
        let now = Date()
        var expected = pending
        expected.status = status
        let result = try await pipeline.write(
            .completeSend(messageId: pending.id, externalId: externalId, status: status, error: error, sentAt: sentAt),
            announcing: Self.facts(type, expected)
        ) { result in
            guard case .updated(let message) = result else { return nil }
            return Self.event(type, message, id: id, timestamp: now)
        }
        guard case .updated(let message) = result else {
            throw APIError(.conflict, "conflict", "the message \(pending.id) disappeared while it was sent")
        }
        return (message, Self.event(type, message, id: id, timestamp: now))
    }

    /// MESSAGE_SENT with the message, or MESSAGE_STATUS with its (failed) status change.
    static func event(_ type: EventType, _ message: Message, id: UUID, timestamp: Date) -> GatewayEvent {
        let data: EventData
        if type == .messageStatus {
            data = .messageStatus(MessageStatusChange(
                messageId: message.id, channel: message.channel, accountId: message.accountId, chatId: message.chatId,
                externalId: nil, status: message.status, error: message.error))
        } else {
            data = .message(message)
        }
        return GatewayEvent(id: id, type: type, organizationId: message.organizationId, data: data, timestamp: timestamp)
    }

    static func facts(of event: GatewayEvent, _ message: Message) -> RoutingFacts { facts(event.type, message) }

    static func facts(_ type: EventType, _ message: Message) -> RoutingFacts {
        RoutingFacts(
            type: type, channel: message.channel, accountId: message.accountId,
            direction: type == .messageSent ? .outbound : nil, chatId: message.chatId, text: message.content.text)
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
                if let relay, await relay(account) { return }
                _ = try? await plugins.invoke(
                    platform: account.platform, op: "mark_read", MarkReadRequest(accountId: accountId, chatId: chatId), as: JSONValue.self)
            }
        }
        return counts.values.reduce(0, +)
    }
}
