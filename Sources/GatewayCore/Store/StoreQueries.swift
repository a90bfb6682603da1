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

    /// The same page with each item transformed.
    public func map<Other: Sendable>(_ transform: (Item) -> Other) -> Page<Other> {
        Page<Other>(items: items.map(transform), nextCursor: nextCursor, total: total, hasMore: hasMore)
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

    /// `search` as a LIKE pattern matching it anywhere in the text (`\`, `%` and `_` escaped:
    /// use with `ESCAPE '\'`); nil when there is no search.
    var searchPattern: String? {
        guard let search, !search.isEmpty else { return nil }
        let escaped = search.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return "%\(escaped)%"
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

/// An opaque cursor: the sort key of the last row, base64url-encoded (RFC 4648 §5, no padding).
enum Cursor {
    static func encode(_ parts: [String]) -> String {
        let base64 = Data(parts.joined(separator: "\u{1}").utf8).base64EncodedData()
        var url: [UInt8] = []
        url.reserveCapacity(base64.count)
        for byte in base64 {
            switch byte {
            case UInt8(ascii: "+"): url.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): url.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: url.append(byte)
            }
        }
        return String(decoding: url, as: UTF8.self)
    }

    static func decode(_ cursor: String) -> [String]? {
        var base64: [UInt8] = cursor.utf8.map {
            $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0
        }
        while base64.count % 4 != 0 { base64.append(UInt8(ascii: "=")) }
        guard let data = Data(base64Encoded: Data(base64)), let text = String(data: data, encoding: .utf8) else { return nil }
        return text.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
    }
}

/// A cursor or filter that cannot be used.
public struct InvalidQuery: Error, Sendable {
    public var field: String
    public var message: String
}

/// WHERE conditions and the values they bind, in order.
struct SQLFilter {
    private(set) var conditions: [String] = []
    private(set) var values: [SQLiteValue] = []

    init(_ condition: String, _ values: SQLiteValue...) {
        add(condition, values: values)
    }

    mutating func add(_ condition: String, _ values: SQLiteValue...) {
        add(condition, values: values)
    }

    mutating func add(_ condition: String, values newValues: [SQLiteValue]) {
        conditions.append(condition)
        values += newValues
    }

    var sql: String { conditions.joined(separator: " AND ") }
}

/// Where a listing page starts: after a cursor (the sort key of the last row shown), or at a
/// page number's offset (then with the total count).
struct PageWindow {
    var filter: SQLFilter
    var offset = 0
    var total: Int?
    let limit: Int

    /// `after` turns a cursor's parts into the condition "sorts after this key" (nil: not ours).
    init(
        _ paging: PageRequest, limit: Int, filter: SQLFilter, table: String, on connection: SQLiteConnection,
        after: ([String]) -> (String, [SQLiteValue])?
    ) throws {
        self.filter = filter
        self.limit = limit
        switch paging {
        case .cursor(nil):
            break
        case .cursor(let cursor?):
            guard let parts = Cursor.decode(cursor), let (condition, values) = after(parts) else {
                throw InvalidQuery(field: "cursor", message: "cursor is not one this server issued")
            }
            self.filter.add(condition, values: values)
        case .page(let page):
            offset = (page - 1) * limit
            let count = try connection.prepare("SELECT COUNT(*) FROM \(table) WHERE \(filter.sql)")
            count.bind(filter.values)
            total = try count.step() ? count.int(0) : 0
            count.reset()
        }
    }

    func position(count: Int, lastKey: [String], hasMore: Bool) -> PagePosition {
        let next = hasMore && total == nil && !lastKey.isEmpty ? Cursor.encode(lastKey) : nil
        return PagePosition(count: count, nextCursor: next, total: total, hasMore: hasMore)
    }
}

/// A page apart from its items: how many it has and how to go on from it.
public struct PagePosition: Sendable {
    public var count: Int
    public var nextCursor: String?
    public var total: Int?
    public var hasMore: Bool

    public init(count: Int, nextCursor: String?, total: Int? = nil, hasMore: Bool) {
        self.count = count
        self.nextCursor = nextCursor
        self.total = total
        self.hasMore = hasMore
    }
}

extension Page {
    init(items: [Item], _ position: PagePosition) {
        self.init(items: items, nextCursor: position.nextCursor, total: position.total, hasMore: position.hasMore)
    }

    public var position: PagePosition {
        PagePosition(count: items.count, nextCursor: nextCursor, total: total, hasMore: hasMore)
    }
}
