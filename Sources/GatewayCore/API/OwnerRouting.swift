import Foundation
import GatewayModel
import Hummingbird
import NIOCore

/// Routes that need an account's plugin ask this first: in a cluster, a call for an account
/// another instance drives is proxied there (`RequestForwarder`); nil means "handle it here".
/// With one instance (no forwarder) it never forwards and costs nothing.
struct OwnerRouting: Sendable {
    let ownership: any AccountOwnership
    let forwarder: RequestForwarder?

    static let local = OwnerRouting(ownership: LocalOwnership(), forwarder: nil)

    /// A request another instance forwarded here is never forwarded again; if the account moved
    /// on meanwhile it is refused (503, retry) rather than run by a plugin that does not drive
    /// the account — which, for a connect, would start a second driver.
    func forwarded(_ request: Request, account: Account, body: ByteBuffer? = nil) async throws -> Response? {
        guard let forwarder else { return nil }
        let owner: AccountOwner
        do {
            owner = try await ownership.owner(of: account)
        } catch {
            throw APIError(.serviceUnavailable, "owner_unavailable", "cannot tell which gateway instance drives account \(account.id): \(error)",
                           retryAfter: 2)
        }
        guard case .elsewhere(let instanceId, let url) = owner else { return nil }
        if RequestForwarder.isForwarded(request) {
            throw APIError(
                .serviceUnavailable, "owner_unavailable",
                "account \(account.id) moved to gateway instance \(instanceId) while this call was forwarded; retry",
                details: ["owner": .string(instanceId)], retryAfter: 1)
        }
        return try await forwarder.forward(request, body: body, to: url, owner: instanceId, accountId: account.id)
    }
}

extension OwnerRouting {
    /// mark-all-read without an account names every account of the chat: the read receipt of
    /// one another instance drives is sent by that instance (the same call, for that account).
    /// With a forwarder, the relay for `MessagingService.markAllRead`: true when another instance
    /// drives the account (and was asked to send the receipt).
    func readReceiptRelay(_ request: Request, chatId: String) -> (@Sendable (Account) async -> Bool)? {
        guard forwarder != nil else { return nil }
        let authorization = request.headers[.authorization]
        return { account in await relayReadReceipt(authorization: authorization, chatId: chatId, account: account) }
    }

    private func relayReadReceipt(authorization: String?, chatId: String, account: Account) async -> Bool {
        guard let forwarder, let owner = try? await ownership.owner(of: account), case .elsewhere(let instanceId, let url) = owner
        else { return false }
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        if let authorization { headers.append(("Authorization", authorization)) }
        let path = "/api/messaging/chats/\(chatId.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? chatId)/mark-all-read"
        let body = (try? JSONEncoder().encode(["bdAccountId": account.id])).map { ByteBuffer(bytes: $0) }
        _ = try? await forwarder.forward(
            method: "POST", pathAndQuery: path, headers: headers, body: body, to: url, owner: instanceId, accountId: account.id)
        return true
    }
}

extension Request {
    /// Reads the whole body into memory (413 over `limit`, as `decodeJSON` says it) and keeps it
    /// in the request, so it can be decoded here and still be forwarded as it came.
    mutating func bufferBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "payload_too_large", "the request body is larger than \(limit) bytes")
        }
        do {
            return try await collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "payload_too_large", "the request body is larger than \(limit) bytes")
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "payload_too_large", "the request body is larger than \(limit) bytes")
        }
    }
}
