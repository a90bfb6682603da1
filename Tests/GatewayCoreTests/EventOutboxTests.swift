import Foundation
import GatewayModel
import Synchronization
import Testing

@testable import GatewayCore

/// The RabbitMQ outbox in the store, on both backends: rows committed with the batch that
/// produced their events (and rolled back with it), read and deleted in sequence order, one
/// publisher at a time on a shared PostgreSQL database; and the pipeline's routing into it.
@Suite struct EventOutboxTests {
    static let org = "org-o"
    static let chat = ChatInfo(kind: .user, title: "Chat")

    static func message(_ externalId: String, text: String = "hi", contact: String? = nil) -> Message {
        Message(
            organizationId: org, channel: "loopback", accountId: "a1", chatId: "c1", externalId: externalId, direction: .inbound,
            contact: contact.map { Contact(id: $0) }, content: MessageContent(text: text), status: .delivered, isRead: false,
            createdAt: Date(timeIntervalSince1970: 1_764_806_400), sentAt: nil)
    }

    static func event(from result: StoreWriteResult, id: UUID) -> GatewayEvent? {
        IngestPipeline.event(for: result, id: id, now: Date(timeIntervalSince1970: 1_764_806_500))
    }

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
    func rowsAreWrittenWithTheirBatch(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let account = Account(id: "a1", organizationId: Self.org, platform: "loopback", status: .connected, createdAt: Date())
            let first = Self.message("e1")
            let ids = (0..<3).map { _ in UUID() }
            let direct = GatewayEvent(type: .messageReceived, organizationId: Self.org, data: .message(Self.message("x", text: "direct")))
            let results = try await store.write(
                [.upsertAccount(account), .insertMessage(first, chat: Self.chat), .insertMessage(Self.message("e1"), chat: Self.chat)],
                outbox: [
                    OutboxEntry(.resultOf(write: 0) { Self.event(from: $0, id: ids[0]) }, routingKeys: ["events.BD_ACCOUNT_CONNECTED"]),
                    OutboxEntry(.resultOf(write: 1) { Self.event(from: $0, id: ids[1]) }, routingKeys: ["events.MESSAGE_RECEIVED"]),
                    // A redelivery: the store had it, so there is nothing to publish.
                    OutboxEntry(.resultOf(write: 2) { Self.event(from: $0, id: ids[2]) }, routingKeys: ["events.MESSAGE_RECEIVED"]),
                    OutboxEntry(.event(direct), routingKeys: ["a.MESSAGE_RECEIVED", "b.MESSAGE_RECEIVED"]),
                ])
            #expect(results == [.account(account), .inserted(first), .duplicate])
            let rows = try await store.outboxRows(limit: 100)
            #expect(rows.map(\.routingKey) == ["events.BD_ACCOUNT_CONNECTED", "events.MESSAGE_RECEIVED", "a.MESSAGE_RECEIVED", "b.MESSAGE_RECEIVED"])
            #expect(rows.map(\.eventId) == [ids[0], ids[1], direct.id, direct.id].map(\.lowercasedString))
            #expect(rows.map(\.eventType) == ["BD_ACCOUNT_CONNECTED", "MESSAGE_RECEIVED", "MESSAGE_RECEIVED", "MESSAGE_RECEIVED"])
            #expect(rows.allSatisfy { $0.organizationId == Self.org })
            #expect(rows.map(\.sequence) == rows.map(\.sequence).sorted() && Set(rows.map(\.sequence)).count == 4)
            // The payload is the event's own JSON, as the hub and webhooks see it.
            let decoded = try JSONDecoder.gateway().decode(GatewayEvent.self, from: Data(rows[1].payload))
            #expect(decoded == Self.event(from: .inserted(first), id: ids[1]))
            #expect(try await store.outboxCount() == 4)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aFailedBatchLeavesNoRows(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            // Break the batch after its message insert: the contact upsert fails, so the whole
            // transaction (message and outbox rows) must roll back.
            if let sqlite = store as? SQLiteStore {
                try await sqlite.onWriterConnection { try $0.execute("DROP TABLE contacts") }
            } else if let postgres = store as? PostgresStore {
                try await postgres.withConnection { connection in
                    try await connection.rows("DROP TABLE contacts", logger: testLogger)
                }
            }
            let message = Self.message("e9", contact: "u1")
            await #expect(throws: (any Error).self) {
                try await store.write(
                    [.insertMessage(message, chat: Self.chat)],
                    outbox: [OutboxEntry(.resultOf(write: 0) { Self.event(from: $0, id: UUID()) }, routingKeys: ["events.MESSAGE_RECEIVED"])])
            }
            #expect(try await store.outboxCount() == 0)
            #expect(try await store.message(id: message.id, organizationId: Self.org) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func rowsAreReadAndDeletedInSequenceOrder(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var written: [String] = []
            for batch in 0..<3 {
                let events = (0..<2).map { index in
                    GatewayEvent(type: .messageReceived, organizationId: Self.org, data: .message(Self.message("b\(batch)-\(index)")))
                }
                written += events.map(\.id.lowercasedString)
                _ = try await store.write([], outbox: events.map { OutboxEntry(.event($0), routingKeys: ["events.MESSAGE_RECEIVED"]) })
            }
            let firstTwo = try await store.outboxRows(limit: 2)
            #expect(firstTwo.map(\.eventId) == Array(written.prefix(2)))
            try await store.deleteOutboxRows(sequences: [firstTwo[0].sequence])
            #expect(try await store.outboxRows(limit: 2).map(\.eventId) == [written[1], written[2]])
            // Deleting out of order (a later row confirmed first) leaves the earlier ones in order.
            let all = try await store.outboxRows(limit: 100)
            try await store.deleteOutboxRows(sequences: [all[2].sequence, all[4].sequence])
            #expect(try await store.outboxRows(limit: 100).map(\.eventId) == [written[1], written[2], written[4]])
            #expect(try await store.outboxCount() == 3)

            // drainOutbox deletes exactly what the publisher confirmed.
            let expected = [written[1], written[2]]
            let handed = try await store.drainOutbox(limit: 2) { rows in
                #expect(rows.map(\.eventId) == expected)
                return [rows[0].sequence]
            }
            #expect(handed == 2)
            #expect(try await store.outboxRows(limit: 100).map(\.eventId) == [written[2], written[4]])
            #expect(try await store.drainOutbox(limit: 10) { rows in rows.map(\.sequence) } == 2)
            #expect(try await store.outboxCount() == 0)
            #expect(try await store.drainOutbox(limit: 10) { _ in Issue.record("nothing to publish"); return [] } == 0)
        }
    }

    /// Two gateways on one PostgreSQL database: while one publishes a batch the other is kept out
    /// (it would send the same rows), and a publisher that fails leaves its rows for the next.
    @Test func onePublisherAtATimeOnPostgres() async throws {
        let directory = try TemporaryDirectory()
        let url = try TestPostgres.server().createDatabase()
        let first = try await Gateway.openStore(.postgres(url: url), logger: testLogger)
        let second = try await Gateway.openStore(.postgres(url: url), logger: testLogger)
        _ = directory
        let events = (0..<3).map { GatewayEvent(type: .messageSent, organizationId: Self.org, data: .message(Self.message("p\($0)"))) }
        _ = try await first.write([], outbox: events.map { OutboxEntry(.event($0), routingKeys: ["events.MESSAGE_SENT"]) })

        let inside = Mutex(false)
        let release = Mutex(false)
        let holder = Task {
            try await first.drainOutbox(limit: 10) { rows in
                inside.withLock { $0 = true }
                while !release.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
                return rows.map(\.sequence)
            }
        }
        while !inside.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try await second.drainOutbox(limit: 10) { _ in Issue.record("two publishers at once"); return [] } == nil)
        release.withLock { $0 = true }
        #expect(try await holder.value == 3)
        #expect(try await second.outboxCount() == 0)

        _ = try await second.write([], outbox: [OutboxEntry(.event(events[0]), routingKeys: ["events.MESSAGE_SENT"])])
        struct BrokerGone: Error {}
        await #expect(throws: BrokerGone.self) { try await second.drainOutbox(limit: 10) { _ in throw BrokerGone() } }
        #expect(try await first.drainOutbox(limit: 10) { rows in rows.map(\.sequence) } == 1, "the failed batch is still there")
        await first.close()
        await second.close()
    }

    /// Routes decide what reaches the outbox: `publish: TOPIC` actions, under `TOPIC.EVENT_TYPE`,
    /// and only events the store did not have already.
    @Test func thePipelineQueuesPublishedEvents() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("pipeline.sqlite"))
        try await store.migrate()
        let account = Account(id: "a1", organizationId: Self.org, platform: "loopback", status: .connected, createdAt: Date())
        _ = try await store.write([.upsertAccount(account)])
        let woken = Atomic<Int>(0)
        let routes = [
            Route(name: "secret", match: RouteMatch(chats: ["private"]), actions: [.store]),
            Route(name: "rest", match: RouteMatch(), actions: [.store, .hub, .publish(topic: "events"), .publish(topic: "audit")]),
        ]
        let bus = EventBus()
        let hub = bus.subscribe(topics: [EventBus.hubTopic])
        let pipeline = IngestPipeline(
            store: store, accounts: AccountDirectory(store: store), router: EventRouter(routes: routes),
            fanOut: BusFanOut(bus: bus, webhooks: WebhookDispatcher(client: .shared, store: store, config: WebhooksConfig(), logger: testLogger)),
            logger: testLogger, batchSize: 100, outbox: OutboxRouting(enabled: true) { woken.add(1, ordering: .relaxed) })
        let run = Task { await pipeline.run() }
        for round in 0..<2 {  // the second round is a redelivery
            pipeline.submit(.message(ChannelMessage(accountId: "a1", chatId: "c1", externalId: "m1", text: "public")), channel: "loopback")
            pipeline.submit(.message(ChannelMessage(accountId: "a1", chatId: "private", externalId: "m2", text: "no")), channel: "loopback")
            await pipeline.flush()
            _ = round
        }
        let rows = try await store.outboxRows(limit: 100)
        #expect(rows.map(\.routingKey) == ["events.MESSAGE_RECEIVED", "audit.MESSAGE_RECEIVED"])
        #expect(woken.load(ordering: .relaxed) >= 1)
        // The hub got the same event, under the same id (consumers can correlate).
        var iterator = hub.makeAsyncIterator()
        let batch = await iterator.next()
        #expect(batch?.events.map(\.id.lowercasedString) == [rows[0].eventId])
        pipeline.finish()
        await run.value
        await store.close()
    }

    @Test func urls() throws {
        let plain = try RabbitMQURL(parsing: "amqp://127.0.0.1")
        #expect(plain == RabbitMQURL(host: "127.0.0.1", port: 5672, user: "guest", password: "guest", vhost: "/"))
        let full = try RabbitMQURL(parsing: "amqp://app%40x:p%3Ass%2Fw@mq.example:5673/%2fprod?heartbeat=10")
        #expect(full == RabbitMQURL(host: "mq.example", port: 5673, user: "app@x", password: "p:ss/w", vhost: "/prod"))
        #expect(full.description == "amqp://app@x:***@mq.example:5673/%2Fprod")
        #expect(try RabbitMQURL(parsing: "amqp://u@[::1]:5000/v").host == "::1")
        #expect(try RabbitMQURL(parsing: "amqp://u@h/").vhost == "/")
        #expect(try RabbitMQURL(parsing: "amqp://u@h/").password == "")
        for (text, words) in [
            ("127.0.0.1:5672", "expected amqp://"), ("amqps://h", "amqps://"), ("redis://h", "unsupported scheme"),
            ("amqp://h:0", "bad port"), ("amqp://h:x", "bad port"), ("amqp://user:pw@", "no host"), ("amqp://h/a/b", "bad vhost"),
            ("amqp://:pw@h", "no user"),
        ] {
            #expect(throws: RabbitMQError.self, "\(text)") { try RabbitMQURL(parsing: text) }
            do {
                _ = try RabbitMQURL(parsing: text)
            } catch {
                #expect(error.description.contains(words), "\(text): \(error)")
                #expect(!error.description.contains("pw"), "\(text): \(error)")
            }
        }
    }
}

/// bus.rabbitmq in gateway.yaml.
@Suite struct RabbitMQConfigTests {
    @Test func theDefaultConfigPublishesEverythingWhenAURLIsGiven() throws {
        let config = try ConfigLoader.load(path: repositoryFile("gateway.yaml"), environment: ["RABBITMQ_URL": "amqp://127.0.0.1"])
        #expect(config.bus.rabbitmqURL == "amqp://127.0.0.1")
        #expect(config.bus.rabbitmqExchange == "channel-gateway.events")
        #expect(config.routes.first?.actions.contains(.publish(topic: "events")) == true)
        #expect(try ConfigLoader.load(path: repositoryFile("gateway.yaml"), environment: [:]).bus.rabbitmqURL == nil)
    }

    @Test func exchangeAndErrors() throws {
        let config = try ConfigLoader.parse(
            "bus:\n  rabbitmq:\n    url: amqp://mq\n    exchange: crm.events\n", file: "bus.yaml", environment: [:])
        #expect(config.bus.rabbitmqExchange == "crm.events")
        let error = #expect(throws: (any Error).self) {
            try ConfigLoader.parse("bus:\n  rabbitmq:\n    url: amqp://mq\n    queue: x\n", file: "bus.yaml", environment: [:])
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("bus.yaml:4:5"))
    }
}
