import Foundation
import GatewayModel
import Hummingbird
import NIOCore

/// /api/bd-accounts — see docs/API.md.
struct AccountRoutes {
    let accounts: AccountService
    let messaging: MessagingService
    let bodyLimit: Int
    /// Calls that need the account's plugin go to the instance that drives it (a cluster).
    var owners: OwnerRouting = .local

    /// The owner's answer when another instance drives the `:id` account; nil: handle it here.
    private func forwarded(_ request: Request, _ context: APIRequestContext, _ caller: Principal, body: ByteBuffer? = nil)
        async throws -> Response?
    {
        guard owners.forwarder != nil else { return nil }
        let account = try await accounts.find(try context.parameters.require("id"), for: caller)
        return try await owners.forwarded(request, account: account, body: body)
    }

    private struct CodeBody: Decodable { var phoneCode: String }
    private struct PasswordBody: Decodable { var password: String }
    private struct AccountSendBody: Decodable {
        var chatId: String
        var content: String
        var replyTo: String?
        var idempotencyKey: String?
        var contactId: String?
    }
    private struct AccountList: Encodable { var accounts: [Account] }
    private struct DialogsResource: Encodable {
        var dialogs: [DialogResource]
        var nextCursor: String?
        var hasMore: Bool
    }

    /// A plugin's dialog with its date as an ISO-8601 date-time, like every date of the API.
    private struct DialogResource: Encodable {
        var chatId: String
        var kind: ChatKind
        var title: String?
        var username: String?
        var unreadCount: Int
        var lastMessageText: String?
        var lastMessageDate: Date?

        init(_ dialog: Dialog) {
            chatId = dialog.chatId
            kind = dialog.kind
            title = dialog.title
            username = dialog.username
            unreadCount = dialog.unreadCount
            lastMessageText = dialog.lastMessageText
            lastMessageDate = dialog.lastMessageDate.map(Date.init(timeIntervalSince1970:))
        }
    }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("connect") { request, context in
            let caller = try context.admin()
            var request = request
            let raw = try await request.bufferBody(limit: bodyLimit)
            let body = try await request.decodeJSON(AccountService.ConnectBody.self, limit: bodyLimit)
            // Continuing the login of an account another instance drives: there.
            if owners.forwarder != nil, let existing = try await accounts.existingAccount(for: body, by: caller),
                let response = try await owners.forwarded(request, account: existing, body: raw)
            {
                return response
            }
            let (account, loginUrl) = try await accounts.connect(body, by: caller)
            return try jsonResponse(AccountResource(account, loginUrl: loginUrl), status: .accepted)
        }
        group.get { _, context in
            let caller = try context.caller()
            return try jsonResponse(AccountList(accounts: try await accounts.list(for: caller)))
        }
        group.get(":id") { _, context in
            let caller = try context.caller()
            return try jsonResponse(try await accounts.find(try context.parameters.require("id"), for: caller))
        }
        group.get(":id/status") { _, context in
            let caller = try context.caller()
            return try jsonResponse(AccountStatusResource(try await accounts.find(try context.parameters.require("id"), for: caller)))
        }
        group.get(":id/login-qr") { request, context in
            let caller = try context.admin()
            if let response = try await forwarded(request, context, caller) { return response }
            let url = try await accounts.loginUrl(try context.parameters.require("id"), by: caller)
            guard let svg = QRCodeSVG.render(url, title: "Login QR code") else {
                throw APIError(.badGateway, "channel_error", "the channel's login URL is too long for a QR code")
            }
            return Response(
                status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: svg)))
        }
        group.post(":id/code") { request, context in
            let caller = try context.admin()
            var request = request
            let raw = try await request.bufferBody(limit: bodyLimit)
            if let response = try await forwarded(request, context, caller, body: raw) { return response }
            let body = try await request.decodeJSON(CodeBody.self, limit: bodyLimit)
            let account = try await accounts.submitCode(body.phoneCode, account: try context.parameters.require("id"), by: caller)
            return try jsonResponse(account)
        }
        group.post(":id/password") { request, context in
            let caller = try context.admin()
            var request = request
            let raw = try await request.bufferBody(limit: bodyLimit)
            if let response = try await forwarded(request, context, caller, body: raw) { return response }
            let body = try await request.decodeJSON(PasswordBody.self, limit: bodyLimit)
            let account = try await accounts.submitPassword(body.password, account: try context.parameters.require("id"), by: caller)
            return try jsonResponse(account)
        }
        group.get(":id/dialogs") { request, context in
            let caller = try context.caller()
            if let response = try await forwarded(request, context, caller) { return response }
            let query = Query(request)
            let limit = try query.int("limit", in: 1...200) ?? 50
            let offset = try query.int("offset", in: 0...10_000_000)
            let cursor = query.string("cursor") ?? offset.map(String.init)
            let page = try await accounts.dialogs(try context.parameters.require("id"), limit: limit, cursor: cursor, by: caller)
            return try jsonResponse(DialogsResource(dialogs: page.dialogs.map(DialogResource.init), nextCursor: page.nextCursor, hasMore: page.nextCursor != nil))
        }
        group.post(":id/disconnect") { request, context in
            let caller = try context.admin()
            if let response = try await forwarded(request, context, caller) { return response }
            return try jsonResponse(try await accounts.disconnect(try context.parameters.require("id"), by: caller))
        }
        group.post(":id/send") { request, context in
            let caller = try context.caller()
            var request = request
            let raw = try await request.bufferBody(limit: bodyLimit)
            if let response = try await forwarded(request, context, caller, body: raw) { return response }
            let body = try await request.decodeJSON(AccountSendBody.self, limit: bodyLimit)
            let send = MessagingService.SendBody(
                channel: nil, channelId: body.chatId, content: body.content, bdAccountId: try context.parameters.require("id"),
                contactId: body.contactId, replyTo: body.replyTo, idempotencyKey: body.idempotencyKey)
            let (message, created) = try await messaging.send(send, by: caller)
            return try jsonResponse(message, status: created ? .created : .ok)
        }
        group.delete(":id") { request, context in
            let caller = try context.admin()
            if let response = try await forwarded(request, context, caller) { return response }
            try await accounts.delete(try context.parameters.require("id"), by: caller)
            return Response(status: .noContent)
        }
    }
}
