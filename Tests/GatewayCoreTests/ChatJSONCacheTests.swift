import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// The chats listing copies each chat's JSON from `ChatJSONCache` while the chat's revision is
/// unchanged. After every kind of write, by the store or by anyone else on the file, the listing
/// must still be exactly what the chats read afresh would be written as.
@Suite struct ChatJSONCacheTests {
    static let org = "org-cache"
    static let start = Date(timeIntervalSince1970: 1_764_806_400)

    static func message(_ index: Int, chat: String, direction: Direction = .inbound, externalId: String? = nil) -> Message {
        Message(
            organizationId: org, channel: "loopback", accountId: "acc", chatId: chat, externalId: externalId ?? "e\(index)",
            direction: direction, contact: Contact(id: "u\(index)", name: "User \(index)"),
            content: MessageContent(text: "message \(index)"), status: direction == .inbound ? .delivered : .pending,
            isRead: false, createdAt: start.addingTimeInterval(Double(index)), sentAt: nil)
    }

    /// The listing as written (through the cache) and as the model values read afresh.
    static func listings(_ store: SQLiteStore) async throws -> (written: String, fresh: String) {
        var query = ChatQuery(organizationId: org)
        query.limit = 200
        var written = JSONWriter()
        _ = try await store.writeChats(query, into: &written)
        var fresh = JSONWriter()
        fresh.array(try await store.chats(query).items) { $0.write($1) }
        return (String(decoding: written.bytes, as: UTF8.self), String(decoding: fresh.bytes, as: UTF8.self))
    }

    @Test func cachedChatsFollowEveryChange() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("gw.sqlite"))
        try await store.migrate()
        defer { Task { await store.close() } }
        _ = try await store.write((0..<6).map { .insertMessage(Self.message($0, chat: "chat-\($0 % 3)"), chat: ChatInfo(kind: .user, title: "Chat")) })

        var previous = try await Self.listings(store)
        #expect(previous.written == previous.fresh)
        /// Applies a change, then checks the listing is fresh and did change (or did not).
        func expectListing(changed: Bool, _ comment: Comment, after change: () async throws -> Void) async throws {
            try await change()
            let now = try await Self.listings(store)
            #expect(now.written == now.fresh, comment)
            #expect((now.written != previous.written) == changed, comment)
            previous = now
        }

        try await expectListing(changed: false, "nothing written") {}
        try await expectListing(changed: true, "a new last message") {
            _ = try await store.write([.insertMessage(Self.message(10, chat: "chat-1"), chat: ChatInfo(kind: .user, title: nil))])
        }
        try await expectListing(changed: true, "the last message's status") {
            _ = try await store.write([.updateStatus(MessageStatusUpdate(accountId: "acc", chatId: "chat-1", externalId: "e10", status: .read))])
        }
        try await expectListing(changed: true, "an earlier message read (the unread count)") {
            _ = try await store.write([.updateStatus(MessageStatusUpdate(accountId: "acc", chatId: "chat-2", externalId: "e2", status: .read))])
        }
        try await expectListing(changed: true, "mark-all-read") {
            _ = try await store.write([.markChatRead(organizationId: Self.org, chatId: "chat-0", accountId: nil)])
        }
        let sent = Self.message(20, chat: "chat-2", direction: .outbound, externalId: nil)
        try await expectListing(changed: true, "an API send, pending") {
            _ = try await store.write([.insertOutbound(sent, idempotencyKey: "key-20")])
        }
        try await expectListing(changed: true, "the send completed") {
            _ = try await store.write([.completeSend(messageId: sent.id, externalId: "e20", status: .sent, error: nil, sentAt: Self.start)])
        }
        try await expectListing(changed: true, "a title") {
            _ = try await store.write([.insertMessage(Self.message(11, chat: "chat-1"), chat: ChatInfo(kind: .user, title: "Renamed"))])
        }
        // Another connection (another process, a shell) writing the file: the triggers see it.
        let other = try SQLiteConnection(path: store.path)
        try await expectListing(changed: false, "an earlier message edited by another connection") {
            try other.execute("UPDATE messages SET text = 'edited' WHERE external_id = 'e4'")
        }
        try await expectListing(changed: true, "the last message edited by another connection") {
            try other.execute("UPDATE messages SET text = 'edited' WHERE external_id = 'e11'")
        }
        try await expectListing(changed: true, "the last message deleted by another connection") {
            try other.execute("DELETE FROM messages WHERE external_id = 'e11'")
        }
        try await expectListing(changed: true, "a chat deleted and another created by another connection") {
            try other.execute("""
                DELETE FROM chats WHERE chat_id = 'chat-2';
                INSERT INTO chats (account_id, chat_id, organization_id, channel, kind, title, last_activity)
                VALUES ('acc', 'chat-9', '\(Self.org)', 'loopback', 'group', 'New', 1);
                """)
        }
        try await expectListing(changed: true, "a VACUUM (which may renumber chats' rowids), then an unread count") {
            try other.execute("VACUUM; UPDATE chats SET unread_count = 7 WHERE chat_id = 'chat-9';")
        }
    }

    @Test func theCacheStartsAgainPastItsLimit() {
        let cache = ChatJSONCache(byteLimit: 100)
        cache.keep(Array(repeating: 1, count: 60), rowid: 1, revision: 1)
        cache.keep(Array(repeating: 2, count: 30), rowid: 2, revision: 2)
        #expect(cache.json(rowid: 1, revision: 1)?.count == 60)
        #expect(cache.json(rowid: 1, revision: 2) == nil)
        cache.keep(Array(repeating: 3, count: 20), rowid: 3, revision: 3)
        #expect(cache.json(rowid: 1, revision: 1) == nil)
        #expect(cache.json(rowid: 3, revision: 3)?.count == 20)
        cache.keep(Array(repeating: 4, count: 10), rowid: 3, revision: 4)
        #expect(cache.json(rowid: 3, revision: 3) == nil)
        #expect(cache.json(rowid: 3, revision: 4) == [UInt8](repeating: 4, count: 10))
    }
}
