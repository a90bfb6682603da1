import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// The SQLite store writes listing rows straight into JSON; those bytes must be exactly what the
/// model values it reads would be written as, for every kind of field and every page.
@Suite struct SQLiteRowJSONTests {
    static let org = "org-json"
    static let texts = ["hello", "", "line\nbreak \"quoted\" \\ back\tslash", "ünïcödé ✨ 日本", "nul\u{0}inside", "\u{1}\u{1f}ctl"]

    static func message(_ index: Int) -> Message {
        let contact: Contact? = switch index % 4 {
        case 0: nil
        case 1: Contact(id: "u\(index)")
        case 2: Contact(id: "u\(index)", name: "Ann \"A\" ✨", username: "ann", phone: "+1 555", email: "a@b.c")
        default: Contact(id: "ü\(index)", name: nil, username: "x\ny")
        }
        let attachments: [GatewayModel.Attachment]? = switch index % 3 {
        case 0: nil
        case 1: []
        default: [GatewayModel.Attachment(kind: "photo", name: "p.jpg", mimeType: "image/jpeg", size: 12), GatewayModel.Attachment(kind: "file")]
        }
        let metadata: JSONValue? = index % 5 == 0 ? ["b": [1, 2.5, .null, true], "a": "x\u{2}", "c": ["n": 1]] : nil
        return Message(
            organizationId: org, channel: index % 2 == 0 ? "loopback" : "telegram", accountId: "acc-\(index % 3)",
            chatId: "chat-\(index % 7)", externalId: index % 6 == 0 ? nil : "e\(index)",
            direction: index % 2 == 0 ? .inbound : .outbound, contact: contact,
            content: MessageContent(text: texts[index % texts.count] + " \(index)", attachments: attachments),
            status: MessageStatus.allCases[index % MessageStatus.allCases.count], isRead: index % 3 == 0,
            error: index % 8 == 0 ? "failed: \"why\"" : nil, metadata: metadata,
            createdAt: Date(timeIntervalSince1970: 1_764_806_400 + Double(index) * 37.123_457 + (index % 4 == 0 ? 0 : 0.000_6)),
            sentAt: index % 2 == 1 ? Date(timeIntervalSince1970: 1_764_806_400 + Double(index) * 41.5) : nil)
    }

    @Test func listingRowsAreWrittenExactlyAsTheirModelValues() async throws {
        let directory = try TemporaryDirectory()
        let store = try await StoreKind.sqlite.makeStore(in: directory)
        defer { Task { await store.close() } }
        let kinds = ChatKind.allCases
        var writes: [StoreWrite] = []
        for index in 0..<120 {
            let message = Self.message(index)
            writes.append(index % 2 == 1 && index % 5 == 0
                ? .insertOutbound(message, idempotencyKey: "key-\(index)")
                : .insertMessage(message, chat: ChatInfo(kind: kinds[index % kinds.count], title: index % 4 == 0 ? nil : "Chat ✨ \"\(index % 7)\"")))
        }
        _ = try await store.write(writes)

        func expectSame<Item>(
            _ model: Page<Item>, _ write: (inout JSONWriter, Item) -> Void,
            _ written: (inout JSONWriter) async throws -> PagePosition
        ) async throws {
            var direct = JSONWriter()
            let position = try await written(&direct)
            #expect(model.items.count == position.count)
            #expect(model.nextCursor == position.nextCursor)
            #expect(model.hasMore == position.hasMore)
            #expect(model.total == position.total)
            var fromModel = JSONWriter()
            fromModel.array(model.items, write)
            #expect(String(decoding: fromModel.bytes, as: UTF8.self) == String(decoding: direct.bytes, as: UTF8.self))
        }

        var queries: [MessageQuery] = []
        var all = MessageQuery(organizationId: Self.org)
        all.limit = 200
        queries.append(all)
        var filtered = MessageQuery(organizationId: Self.org)
        filtered.limit = 7
        filtered.chatId = "chat-3"
        queries.append(filtered)
        var paged = MessageQuery(organizationId: Self.org)
        paged.limit = 9
        paged.paging = .page(2)
        queries.append(paged)
        for query in queries {
            try await expectSame(try await store.messages(query), { $0.write($1) }) { try await store.writeMessages(query, into: &$0) }
        }
        // Every cursor page, both ways.
        var cursor: String?
        var pages = 0
        repeat {
            var query = MessageQuery(organizationId: Self.org)
            query.limit = 11
            query.paging = .cursor(cursor)
            let model = try await store.messages(query)
            try await expectSame(model, { $0.write($1) }) { try await store.writeMessages(query, into: &$0) }
            cursor = model.nextCursor
            pages += 1
        } while cursor != nil && pages < 50
        #expect(pages == 11)

        var chatQuery = ChatQuery(organizationId: Self.org)
        chatQuery.limit = 3
        var chatPages = 0
        repeat {
            let model = try await store.chats(chatQuery)
            #expect(!model.items.isEmpty)
            try await expectSame(model, { $0.write($1) }) { [chatQuery] in try await store.writeChats(chatQuery, into: &$0) }
            chatQuery.paging = .cursor(model.nextCursor)
            chatPages += 1
            if model.nextCursor == nil { break }
        } while chatPages < 50
        #expect(chatPages > 1)
    }
}
