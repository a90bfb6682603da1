import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// The store protocol's behaviour, run unchanged against both backends: the embedded SQLite file
/// and PostgreSQL (a throwaway server, see TestPostgres).
@Suite struct StoreBackendTests {
    static let org = "org-s"
    static let base = Date(timeIntervalSince1970: 1_764_806_400)  // 2025-12-04T00:00:00Z

    static func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: base.timeIntervalSince1970 + seconds) }

    static func inbound(
        _ externalId: String?, chat: String = "c1", account: String = "a1", at seconds: Double, text: String = "hello",
        org: String = org, contact: String? = "u1"
    ) -> Message {
        Message(
            organizationId: org, channel: "loopback", accountId: account, chatId: chat, externalId: externalId,
            direction: .inbound, contact: contact.map { Contact(id: $0, name: "Name \($0)") },
            content: MessageContent(text: text, attachments: [Attachment(kind: "file", name: "a.txt", size: 3)]),
            status: .delivered, isRead: false, metadata: ["k": "v"], createdAt: at(seconds), sentAt: nil)
    }

    static func outbound(chat: String = "c1", account: String = "a1", at seconds: Double, org: String = org) -> Message {
        Message(
            organizationId: org, channel: "loopback", accountId: account, chatId: chat, externalId: nil, direction: .outbound,
            contact: nil, content: MessageContent(text: "out"), status: .pending, isRead: true, createdAt: at(seconds), sentAt: nil)
    }

    static let chat = ChatInfo(kind: .user, title: "Chat")

    func withStore(_ kind: StoreKind, _ body: (any GatewayStore & PluginStateStore) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let store = try await kind.makeStore(in: directory)
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    @Test(arguments: StoreKind.allCases)
    func insertIfAbsentAndChatSummary(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let account = Account(id: "a1", organizationId: Self.org, platform: "loopback", status: .connected, createdAt: Self.at(0))
            let first = Self.inbound("e1", at: 10)
            let again = Self.inbound("e1", at: 11)  // same (account, chat, external id): a redelivery
            let second = Self.inbound("e2", at: 12, text: "second")
            let results = try await store.write([
                .upsertAccount(account), .insertMessage(first, chat: Self.chat), .insertMessage(again, chat: Self.chat),
                .insertMessage(second, chat: Self.chat),
            ])
            #expect(results == [.account(account), .inserted(first), .duplicate, .inserted(second)])
            #expect(try await store.write([.insertMessage(Self.inbound("e1", at: 13), chat: Self.chat)]) == [.duplicate])
            // No external id: never a duplicate.
            let loose = Self.inbound(nil, at: 5)
            #expect(try await store.write([.insertMessage(loose, chat: Self.chat), .insertMessage(Self.inbound(nil, at: 6), chat: Self.chat)]).count == 2)

            let stats = try await store.stats()
            #expect(stats.backend == kind.rawValue)
            #expect(stats.messages == 4)
            #expect(stats.chats == 1)
            #expect(stats.accounts == 1)
            #expect(try await store.message(id: first.id, organizationId: Self.org) == first)
            #expect(try await store.message(id: first.id, organizationId: "other") == nil)

            let chats = try await store.chats(ChatQuery(organizationId: Self.org))
            #expect(chats.items.count == 1)
            let summary = try #require(chats.items.first)
            #expect(summary.unreadCount == 4)
            #expect(summary.title == "Chat")
            #expect(summary.lastMessage == second, "the newest message is the chat's last one")
            #expect(summary.lastActivity == Self.at(12))
            #expect(try await store.chatExists(organizationId: Self.org, chatId: "c1"))
            #expect(try await !store.chatExists(organizationId: "other", chatId: "c1"))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statusMovesOnlyForwardAndReadingDecrementsUnread(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let message = Self.inbound("e1", at: 1)
            _ = try await store.write([.insertMessage(message, chat: Self.chat)])
            func update(_ status: MessageStatus) -> StoreWrite {
                .updateStatus(MessageStatusUpdate(accountId: "a1", chatId: "c1", externalId: "e1", status: status))
            }
            let backwards = try await store.write([update(.sent), update(.pending)])
            #expect(backwards == [.unchanged, .unchanged])
            let read = try await store.write([update(.read)])
            guard case .statusChanged(let change, let organization) = read.first else {
                Issue.record("expected statusChanged, got \(read)")
                return
            }
            #expect(change.messageId == message.id)
            #expect(change.status == .read)
            #expect(organization == Self.org)
            #expect(try await store.write([update(.delivered)]) == [.unchanged])
            let stored = try #require(try await store.message(id: message.id, organizationId: Self.org))
            #expect(stored.status == .read && stored.isRead)
            #expect(try await store.chats(ChatQuery(organizationId: Self.org)).items.first?.unreadCount == 0)
            #expect(try await store.write([.updateStatus(MessageStatusUpdate(accountId: "a1", chatId: "c1", externalId: "nope", status: .read))])
                == [.unchanged])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyKeysAndCompleteSend(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = Self.outbound(at: 1)
            var keyed = first
            keyed.idempotencyKey = "k1"
            #expect(try await store.write([.insertOutbound(first, idempotencyKey: "k1")]) == [.inserted(keyed)])
            let retry = try await store.write([.insertOutbound(Self.outbound(at: 2), idempotencyKey: "k1")])
            #expect(retry == [.existing(keyed)])
            // Keys are unique per organization, not globally.
            let elsewhere = Self.outbound(at: 3, org: "org-other")
            guard case .inserted = try await store.write([.insertOutbound(elsewhere, idempotencyKey: "k1")]).first else {
                Issue.record("another organization's key is independent")
                return
            }
            // The channel reported the sent message through its events first (same external id):
            // completing the API's send drops that copy.
            let echo = Self.inbound("x9", at: 1.5)
            _ = try await store.write([.insertMessage(echo, chat: Self.chat)])
            let done = try await store.write([.completeSend(messageId: first.id, externalId: "x9", status: .sent, error: nil, sentAt: Self.at(4))])
            var sent = keyed
            sent.status = .sent
            sent.externalId = "x9"
            sent.sentAt = Self.at(4)
            #expect(done == [.updated(sent)])
            #expect(try await store.message(id: echo.id, organizationId: Self.org) == nil)
            #expect(try await store.message(id: first.id, organizationId: Self.org) == sent)
            #expect(try await store.write([.completeSend(messageId: UUID(), externalId: nil, status: .failed, error: "x", sentAt: nil)])
                == [.unchanged])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func markChatReadPerAccountAndDeleteAccount(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let account = Account(id: "a2", organizationId: Self.org, platform: "loopback", status: .connected, createdAt: Self.at(0))
            _ = try await store.write([
                .upsertAccount(account),
                .insertMessage(Self.inbound("1", account: "a1", at: 1), chat: Self.chat),
                .insertMessage(Self.inbound("2", account: "a1", at: 2), chat: Self.chat),
                .insertMessage(Self.inbound("3", account: "a2", at: 3), chat: Self.chat),
            ])
            #expect(try await store.write([.markChatRead(organizationId: Self.org, chatId: "c1", accountId: "a1")]) == [.markedRead(["a1": 2])])
            #expect(try await store.write([.markChatRead(organizationId: Self.org, chatId: "c1", accountId: nil)]) == [.markedRead(["a2": 1])])
            #expect(try await store.write([.markChatRead(organizationId: Self.org, chatId: "nope", accountId: nil)]) == [.unchanged])
            #expect(try await store.write([.markChatRead(organizationId: "other", chatId: "c1", accountId: nil)]) == [.unchanged])
            var unread = MessageQuery(organizationId: Self.org)
            unread.unread = true
            #expect(try await store.messages(unread).items.isEmpty)
            #expect(try await store.messages(MessageQuery(organizationId: Self.org)).items.allSatisfy { $0.status == .read })

            #expect(try await store.write([.deleteAccount(id: "a2")]) == [.deleted])
            #expect(try await store.account(id: "a2") == nil)
            #expect(try await store.chats(ChatQuery(organizationId: Self.org)).items.map(\.accountId) == ["a1"])
            #expect(try await store.stats().messages == 3, "messages stay as history")
        }
    }

    /// Same listing, same order, same pages on both backends: ties in time are broken by insert
    /// order (messages) and by account and chat ids in byte order (chats).
    @Test(arguments: StoreKind.allCases)
    func listingOrderCursorsAndPages(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var writes: [StoreWrite] = []
            var expected: [Message] = []
            for index in 0..<23 {
                // Pairs share a timestamp; chat ids differ in case and digits (byte order matters).
                let message = Self.inbound("m\(index)", chat: ["B", "a", "b", "A10", "A9"][index % 5], account: index % 2 == 0 ? "a1" : "Z1",
                                           at: Double(index / 2), text: index % 3 == 0 ? "Needle 50%_x" : "hay")
                writes.append(.insertMessage(message, chat: Self.chat))
                expected.append(message)
            }
            _ = try await store.write(writes)
            let newestFirst = expected.reversed().map(\.id)

            var query = MessageQuery(organizationId: Self.org)
            query.limit = 5
            var seen: [UUID] = []
            var pages = 0
            while true {
                let page = try await store.messages(query)
                seen += page.items.map(\.id)
                pages += 1
                guard let next = page.nextCursor else {
                    #expect(!page.hasMore)
                    break
                }
                #expect(page.hasMore)
                query.paging = .cursor(next)
            }
            #expect(seen == newestFirst)
            #expect(pages == 5)

            query.paging = .page(3)
            let third = try await store.messages(query)
            #expect(third.total == 23)
            #expect(third.items.map(\.id) == Array(newestFirst[10..<15]))
            #expect(third.nextCursor == nil)

            var search = MessageQuery(organizationId: Self.org)
            search.search = "needle 50%_"
            #expect(try await store.messages(search).items.count == 8)
            search.search = "50%x"
            #expect(try await store.messages(search).items.isEmpty, "% is literal")

            var window = MessageQuery(organizationId: Self.org)
            window.from = Self.at(2)
            window.to = Self.at(4)
            window.chatId = "a"
            #expect(Set(try await store.messages(window).items.map(\.id)) == Set(expected.filter {
                $0.chatId == "a" && $0.createdAt >= Self.at(2) && $0.createdAt <= Self.at(4)
            }.map(\.id)))

            var bad = MessageQuery(organizationId: Self.org)
            bad.paging = .cursor("not-a-cursor")
            await #expect(throws: InvalidQuery.self) { try await store.messages(bad) }

            var chatQuery = ChatQuery(organizationId: Self.org)
            chatQuery.limit = 3
            var chats: [String] = []
            while true {
                let page = try await store.chats(chatQuery)
                chats += page.items.map { "\($0.accountId)/\($0.chatId)" }
                guard let next = page.nextCursor else { break }
                chatQuery.paging = .cursor(next)
            }
            let all = try await store.chats(ChatQuery(organizationId: Self.org)).items
            #expect(chats == all.map { "\($0.accountId)/\($0.chatId)" })
            #expect(chats.count == 10)
            // Newest activity first, then account and chat ids descending in byte order.
            let sorted = all.sorted {
                let a = ($0.lastActivity ?? .distantPast, $0.accountId, $0.chatId), b = ($1.lastActivity ?? .distantPast, $1.accountId, $1.chatId)
                if a.0 != b.0 { return a.0 > b.0 }
                if a.1 != b.1 { return Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8)) == false }
                return Array(a.2.utf8).lexicographicallyPrecedes(Array(b.2.utf8)) == false
            }
            #expect(all.map(\.chatId) == sorted.map(\.chatId))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statsPerUTCDay(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.write([
                .insertMessage(Self.inbound("1", at: -1), chat: Self.chat),  // 2025-12-03 23:59:59Z
                .insertMessage(Self.inbound("2", at: 0), chat: Self.chat),
                .insertMessage(Self.inbound("3", at: 86_399), chat: Self.chat),
                .insertOutbound(Self.outbound(at: 86_400), idempotencyKey: "o"),
            ])
            let stats = try await store.messagingStats(organizationId: Self.org, from: Self.at(-86_400), to: Self.at(2 * 86_400))
            #expect(stats.total == 4)
            #expect(stats.unread == 3)
            #expect(stats.byDirection == ["inbound": 3, "outbound": 1])
            #expect(stats.byChannel == ["loopback": 4])
            #expect(stats.byStatus == ["delivered": 3, "pending": 1])
            #expect(stats.perDay.map(\.date) == ["2025-12-03", "2025-12-04", "2025-12-05"])
            #expect(stats.perDay.map(\.inbound) == [1, 2, 0])
            #expect(stats.perDay.map(\.outbound) == [0, 0, 1])
            let empty = try await store.messagingStats(organizationId: "nobody", from: Self.at(0), to: Self.at(1))
            #expect(empty.total == 0 && empty.perDay.isEmpty && empty.byDirection == ["inbound": 0, "outbound": 0])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func webhookFailuresAndPluginState(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let failure = WebhookFailure(
                id: UUID(), organizationId: Self.org, url: "http://x/hook", secret: "s", eventId: UUID(), eventType: "message.received",
                body: Data([0, 1, 2, 255]), attempts: 5, lastError: "HTTP 500", failedAt: Self.at(7))
            try await store.recordWebhookFailure(failure)
            #expect(try await store.webhookFailures(organizationId: Self.org) == [failure])
            #expect(try await store.webhookFailures(organizationId: "other").isEmpty)
            #expect(try await store.removeWebhookFailure(id: failure.id, organizationId: "other") == nil)
            #expect(try await store.removeWebhookFailure(id: failure.id, organizationId: Self.org) == failure)
            #expect(try await store.webhookFailures(organizationId: Self.org).isEmpty)

            #expect(try store.get(plugin: "p", key: "k") == nil)
            try store.put(plugin: "p", key: "k", value: Data([1, 2, 3]))
            try store.put(plugin: "p", key: "k", value: Data([4, 0, 5]))
            try store.put(plugin: "q", key: "k", value: Data())
            #expect(try store.get(plugin: "p", key: "k") == Data([4, 0, 5]))
            #expect(try store.get(plugin: "q", key: "k") == Data())
            try store.delete(plugin: "p", key: "k")
            #expect(try store.get(plugin: "p", key: "k") == nil)
            // From plain threads, the way plugins call it.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                            Thread {
                                continuation.resume(with: Result {
                                    for round in 0..<20 {
                                        try store.put(plugin: "t\(index)", key: "r", value: Data("\(round)".utf8))
                                    }
                                    guard try store.get(plugin: "t\(index)", key: "r") == Data("19".utf8) else {
                                        throw TestFailure("state lost")
                                    }
                                })
                            }.start()
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

/// What only the PostgreSQL store has: URL checks, startup errors, concurrent migrations.
@Suite struct PostgresStoreTests {
    @Test func badURLsAreRefusedWithTheReason() async throws {
        for (url, words) in [
            ("mysql://u@h/db", "scheme"), ("postgres://h/db", "user"), ("postgres://u@h/db?sslmode=maybe", "sslmode"),
            ("postgres://u@h/db?colour=red", "colour"), ("postgres://u@h:0/db", "port"),
            ("postgres://u@h/db?write_timeout=0", "write_timeout"),
        ] {
            let error = await #expect(throws: PostgresStoreError.self) { try PostgresSettings(url: url) }
            #expect(error?.description.contains(words) == true, "\(url): \(error?.description ?? "")")
        }
        let settings = try PostgresSettings(url: "postgresql://me:p%40ss@db.local:6543/crm?sslmode=require&pool_max=4&write_timeout=45")
        #expect(settings.endpoint == .tcp(host: "db.local", port: 6543))
        #expect(settings.password == "p@ss")
        #expect(settings.database == "crm")
        #expect(settings.poolMax == 4)
        #expect(settings.writeTimeoutSeconds == 45)
        #expect(settings.redacted == "postgres://me@db.local:6543/crm")
        let socket = try PostgresSettings(url: "postgres://me@/crm?host=/run/postgresql")
        #expect(socket.endpoint == .unixSocket(path: "/run/postgresql/.s.PGSQL.5432"))
        #expect(socket.writeTimeoutSeconds == 30)
    }

    @Test func startupErrorsNameWhatIsWrong() async throws {
        let server = try TestPostgres.server()
        let url = try server.createDatabase()
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        let closedPort = try freePort()
        let cases: [(String, String)] = [
            (server.url(database: database, password: "wrong"), "authentication failed"),
            (server.url(database: "missing_db"), "database \"missing_db\" does not exist"),
            ("postgres://postgres:x@127.0.0.1:\(closedPort)/db?sslmode=disable&connect_timeout=5", "cannot connect"),
        ]
        for (url, words) in cases {
            let error = await #expect(throws: GatewayStartupError.self) {
                _ = try await Gateway.openStore(.postgres(url: url), logger: testLogger)
            }
            #expect(error?.description.contains(words) == true, "\(error?.description ?? "")")
            #expect(error?.description.contains("wrong") == false, "never the password")
        }
    }

    @Test func concurrentMigrationsApplyOnce() async throws {
        let url = try TestPostgres.server().createDatabase()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    let store = try await PostgresStore(url: url, logger: testLogger)
                    try await store.migrate()
                    return store
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for store in stores {
            #expect(try await store.schemaVersion() == PostgresSchema.migrations.count)
            try await store.migrate()
            await store.close()
        }
    }
}
