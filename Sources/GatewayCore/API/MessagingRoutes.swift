import Foundation
import GatewayModel
import Hummingbird

/// /api/messaging — see docs/API.md.
struct MessagingRoutes {
    let store: any GatewayStore
    let messaging: MessagingService
    let bodyLimit: Int
    /// Sends and read receipts go to the instance that drives the account (a cluster).
    var owners: OwnerRouting = .local

    /// `{"<name>": [items], "pagination": {...}}`, the items written by the store straight into
    /// the answer: listings are the API's hottest answers (docs/BENCHMARKS.md).
    private static func listing(
        _ name: StaticString, limit: Int, paging: PageRequest, items: (inout JSONWriter) async throws -> PagePosition
    ) async throws -> Response {
        var writer = JSONWriter(capacity: 1024 * (limit + 1))
        writer.openObject()
        writer.key(name)
        let position = try await items(&writer)
        writer.key("pagination")
        PaginationResource(position, limit: limit, paging: paging).write(to: &writer)
        writer.closeObject()
        return jsonResponse(writer)
    }

    private struct MarkReadBody: Decodable { var bdAccountId: String? }
    private struct MarkReadResult: Encodable {
        var success: Bool
        var updated: Int
    }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("messages") { request, context in
            let caller = try context.caller()
            let query = Query(request)
            var filter = MessageQuery(organizationId: caller.organizationId)
            (filter.limit, filter.paging) = try query.paging()
            filter.channel = query.string("channel")
            filter.accountId = query.string("bdAccountId")
            filter.chatId = query.string("chatId") ?? query.string("channelId")
            filter.contactId = query.string("contactId")
            filter.direction = try query.enumeration("direction", Direction.self)
            filter.status = try query.enumeration("status", MessageStatus.self)
            filter.unread = try query.bool("unread")
            filter.from = try query.date("from")
            filter.to = try query.date("to")
            filter.search = query.string("search") ?? query.string("q")
            return try await Self.listing("messages", limit: filter.limit, paging: filter.paging) {
                try await store.writeMessages(filter, into: &$0)
            }
        }
        group.get("messages/:id") { _, context in
            let caller = try context.caller()
            return try jsonResponse(try await messaging.message(try context.parameters.require("id"), for: caller))
        }
        group.post("send") { request, context in
            let caller = try context.caller()
            var request = request
            let raw = try await request.bufferBody(limit: bodyLimit)
            let body = try await request.decodeJSON(MessagingService.SendBody.self, limit: bodyLimit)
            // This route names the channel explicitly (the account route does not).
            guard body.channel != nil else { throw APIError.validation("channel", "missing field \"channel\"") }
            if owners.forwarder != nil, let response = try await owners.forwarded(
                request, account: try await messaging.accounts.find(body.bdAccountId, for: caller), body: raw)
            {
                return response
            }
            let (message, created) = try await messaging.send(body, by: caller)
            return try jsonResponse(message, status: created ? .created : .ok)
        }
        group.get("chats") { request, context in
            let caller = try context.caller()
            let query = Query(request)
            var filter = ChatQuery(organizationId: caller.organizationId)
            (filter.limit, filter.paging) = try query.paging()
            filter.channel = query.string("channel")
            filter.accountId = query.string("bdAccountId")
            filter.unreadOnly = try query.bool("unread") ?? false
            return try await Self.listing("chats", limit: filter.limit, paging: filter.paging) {
                try await store.writeChats(filter, into: &$0)
            }
        }
        group.post("chats/:chatId/mark-all-read") { request, context in
            let caller = try context.caller()
            var request = request
            let raw = try await request.bufferBody(limit: bodyLimit)
            let body = try await request.decodeJSON(MarkReadBody.self, limit: bodyLimit, emptyIsObject: true)
            let chatId = try context.parameters.require("chatId")
            if owners.forwarder != nil, let accountId = body.bdAccountId, let response = try await owners.forwarded(
                request, account: try await messaging.accounts.find(accountId, for: caller), body: raw)
            {
                return response
            }
            let updated = try await messaging.markAllRead(
                chatId: chatId, accountId: body.bdAccountId, by: caller, relay: owners.readReceiptRelay(request, chatId: chatId))
            return try jsonResponse(MarkReadResult(success: true, updated: updated))
        }
        group.get("stats") { request, context in
            let caller = try context.caller()
            let query = Query(request)
            let to = try query.date("to") ?? Date()
            let from = try query.date("from") ?? to.addingTimeInterval(-30 * 86_400)
            return try jsonResponse(try await store.messagingStats(organizationId: caller.organizationId, from: from, to: to))
        }
    }
}
