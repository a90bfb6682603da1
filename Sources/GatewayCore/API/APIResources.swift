import Foundation
import GatewayModel

/// JSON forms only the API has (messages, chats and accounts encode themselves: GatewayModel).
/// An account, plus the login URL a QR login shows (connect answers only).
struct AccountResource: Encodable {
    var account: Account
    var loginUrl: String?

    init(_ account: Account, loginUrl: String? = nil) {
        self.account = account
        self.loginUrl = loginUrl
    }

    private enum Field: String, CodingKey { case loginUrl }

    func encode(to encoder: Encoder) throws {
        try account.encode(to: encoder)
        var container = encoder.container(keyedBy: Field.self)
        try container.encodeIfPresent(loginUrl, forKey: .loginUrl)
    }
}

/// GET /api/bd-accounts/:id/status — every field present (null when unknown), as the original did.
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

    private enum Field: String, CodingKey { case id, status, isConnected, lastActivity, error }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(id, forKey: .id)
        try container.encode(status, forKey: .status)
        try container.encode(isConnected, forKey: .isConnected)
        try container.encode(lastActivity, forKey: .lastActivity)
        try container.encode(error, forKey: .error)
    }
}

struct PaginationResource {
    var limit: Int
    var hasMore: Bool
    var nextCursor: String?
    var page: Int?
    var total: Int?
    var totalPages: Int?

    init(_ page: PagePosition, limit: Int, paging: PageRequest) {
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

extension PaginationResource {
    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.field("limit", limit)
            w.field("hasMore", hasMore)
            w.field("nextCursor", nextCursor)
            w.field("page", page)
            w.field("total", total)
            w.field("totalPages", totalPages)
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
        id = failure.id.lowercasedString
        url = failure.url
        eventId = failure.eventId.lowercasedString
        eventType = failure.eventType
        attempts = failure.attempts
        lastError = failure.lastError
        failedAt = failure.failedAt
    }
}
