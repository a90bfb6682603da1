import Foundation
import GatewayModel

/// One page of a listing. `nextCursor` continues it; `total` only in page mode.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?
    public var total: Int?
    public var hasMore: Bool

    public init(items: [Item], nextCursor: String?, total: Int? = nil, hasMore: Bool) {
        self.items = items
        self.nextCursor = nextCursor
        self.total = total
        self.hasMore = hasMore
    }
}

/// How to page through a listing: after a cursor, or by page number.
public enum PageRequest: Sendable, Equatable {
    case cursor(String?)
    case page(Int)
}

/// Filters of GET /api/messaging/messages; every query is scoped to one organization.
public struct MessageQuery: Sendable {
    public var organizationId: String
    public var limit = 50
    public var paging = PageRequest.cursor(nil)
    public var channel: String?
    public var accountId: String?
    public var chatId: String?
    public var contactId: String?
    public var direction: Direction?
    public var status: MessageStatus?
    public var unread: Bool?
    public var from: Date?
    public var to: Date?
    public var search: String?

    public init(organizationId: String) {
        self.organizationId = organizationId
    }
}

public struct ChatQuery: Sendable {
    public var organizationId: String
    public var limit = 50
    public var paging = PageRequest.cursor(nil)
    public var channel: String?
    public var accountId: String?
    public var unreadOnly = false

    public init(organizationId: String) {
        self.organizationId = organizationId
    }
}

public struct MessagingStats: Sendable, Codable, Equatable {
    public struct Day: Sendable, Codable, Equatable {
        public var date: String
        public var total: Int
        public var inbound: Int
        public var outbound: Int
    }

    public var from: Date
    public var to: Date
    public var total: Int
    public var unread: Int
    public var byChannel: [String: Int]
    public var byDirection: [String: Int]
    public var byStatus: [String: Int]
    public var perDay: [Day]
}

/// A webhook delivery that ran out of attempts, kept for inspection and replay.
public struct WebhookFailure: Sendable, Codable, Equatable {
    public var id: UUID
    public var organizationId: String
    public var url: String
    public var secret: String?
    public var eventId: UUID
    public var eventType: String
    public var body: Data
    public var attempts: Int
    public var lastError: String
    public var failedAt: Date
}

/// An opaque cursor: the sort key of the last row, base64url-encoded.
enum Cursor {
    static func encode(_ parts: [String]) -> String {
        Data(parts.joined(separator: "\u{1}").utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String, parts: Int) -> [String]? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let fields = text.components(separatedBy: "\u{1}")
        return fields.count == parts ? fields : nil
    }
}

/// A cursor or filter that cannot be used.
public struct InvalidQuery: Error, Sendable {
    public var field: String
    public var message: String
}
