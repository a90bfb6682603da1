import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// The chats and messages listings copy each row's JSON from a `RowJSONCache` while the row's
/// revision is unchanged. After every kind of write, by the store or by anyone else on the file,
/// the listings must still be exactly what the rows read afresh would be written as.
@Suite struct RowJSONCacheTests {
    static let org = "org-cache"
    static let start = Date(timeIntervalSince1970: 1_764_806_400)

    static func message(_ index: Int, chat: String, direction: Direction = .inbound, externalId: String? = nil) -> Message {
        Message(
            organizationId: org, channel: "loopback", accountId: "acc", chatId: chat, externalId: externalId ?? "e\(index)",
            direction: direction, contact: Contact(id: "u\(index)", name: "User \(index)"),
            content: MessageContent(text: "message \(index)"), status: direction == .inbound ? .delivered : .pending,
            isRead: false, createdAt: start.addingTimeInterval(Double(index)), sentAt: nil)
    }

    /// The chats and the messages listings as written (through the caches) and as the model
    /// values read afresh.
    static func listings(_ store: SQLiteStore) async throws -> (chats: String, freshChats: String, messages: String, freshMessages: String) {
        var chatQuery = ChatQuery(organizationId: org)
        chatQuery.limit = 200
        var chats = JSONWriter()
        _ = try await store.writeChats(chatQuery, into: &chats)
        var freshChats = JSONWriter()
        freshChats.array(try await store.chats(chatQuery).items) { $0.write($1) }
        var messageQuery = MessageQuery(organizationId: org)
        messageQuery.limit = 200
        var messages = JSONWriter()
        _ = try await store.writeMessages(messageQuery, into: &messages)
        var freshMessages = JSONWriter()
        freshMessages.array(try await store.messages(messageQuery).items) { $0.write($1) }
        func text(_ writer: borrowing JSONWriter) -> String { String(decoding: writer.bytes, as: UTF8.self) }
        return (text(chats), text(freshChats), text(messages), text(freshMessages))
    }

    @Test func cachedRowsFollowEveryChange() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("gw.sqlite"))
        try await store.migrate()
        defer { Task { await store.close() } }
        _ = try await store.write((0..<6).map { .insertMessage(Self.message($0, chat: "chat-\($0 % 3)"), chat: ChatInfo(kind: .user, title: "Chat")) })

        var previous = try await Self.listings(store)
        #expect(previous.chats == previous.freshChats)
        #expect(previous.messages == previous.freshMessages)
        /// Applies a change, then checks both listings are fresh and the chats did change (or not).
        func expectListing(changed: Bool, _ comment: Comment, after change: () async throws -> Void) async throws {
            try await change()
            let now = try await Self.listings(store)
            #expect(now.chats == now.freshChats, comment)
            #expect(now.messages == now.freshMessages, comment)
            #expect((now.chats != previous.chats) == changed, comment)
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
        try await expectListing(changed: true, "a new message (listed, so kept as inserted)") {
            _ = try await store.write([.insertMessage(Self.message(29, chat: "chat-0"), chat: ChatInfo(kind: .user, title: nil))])
        }
        try await expectListing(changed: true, "the newest message deleted and a new one given its seq") {
            try other.execute("DELETE FROM messages WHERE seq = (SELECT MAX(seq) FROM messages)")
            _ = try await store.write([.insertMessage(Self.message(30, chat: "chat-0"), chat: ChatInfo(kind: .user, title: nil))])
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

    @Test func entriesMatchRevisionAndIdentityAndTheCacheStartsAgainPastItsLimit() {
        let cache = RowJSONCache(byteLimit: 100)
        cache.keep(Array(repeating: 1, count: 60), key: 1, revision: 1)
        cache.keep(Array(repeating: 2, count: 30), key: 2, revision: 2)
        #expect(cache.json(key: 1, revision: 1)?.count == 60)
        #expect(cache.json(key: 1, revision: 2) == nil)
        cache.keep(Array(repeating: 3, count: 20), key: 3, revision: 3)
        #expect(cache.json(key: 1, revision: 1) == nil)
        #expect(cache.json(key: 3, revision: 3)?.count == 20)
        cache.keep(Array(repeating: 4, count: 10), key: 3, revision: 4)
        #expect(cache.json(key: 3, revision: 3) == nil)
        #expect(cache.json(key: 3, revision: 4) == [UInt8](repeating: 4, count: 10))

        let id: [UInt8] = Array("0193a4d2-0000-7000-8000-000000000001".utf8)
        cache.keep([5], key: 4, revision: 0, identity: id)
        #expect(id.withUnsafeBufferPointer { cache.json(key: 4, revision: 0, identity: $0) } == [5])
        #expect(Array("0193a4d2-0000-7000-8000-000000000002".utf8).withUnsafeBufferPointer { cache.json(key: 4, revision: 0, identity: $0) } == nil)
        #expect(cache.json(key: 4, revision: 0) == nil)

        cache.keep(Array(repeating: 6, count: 101), key: 5, revision: 5)
        #expect(cache.json(key: 5, revision: 5) == nil)
        let off = RowJSONCache(byteLimit: 0)
        off.keep([7], key: 1, revision: 1)
        #expect(off.json(key: 1, revision: 1) == nil)
    }
}
