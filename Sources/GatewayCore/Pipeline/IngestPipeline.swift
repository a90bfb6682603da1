import Foundation
import GatewayModel
import Logging
import Metrics
import Synchronization

/// Where non-store route actions go once events are final (stored, or not meant to be); called
/// once per store batch with the batch's events in order.
public protocol EventFanOut: Sendable {
    func deliver(_ deliveries: [(event: GatewayEvent, actions: [RouteAction])])
}

/// Turns plugin events into normalized events: resolves the account's organization, routes,
/// writes in batched transactions, and fans out only what the store did not already have.
/// Plugins push from any thread (`submit`); one loop (`run`) consumes.
public final class IngestPipeline: Sendable {
    struct Item: Sendable {
        var channel: String
        var event: PluginEvent
        var sequence: Int
    }

    private let queue = IngestQueue<Item>()
    private let store: any GatewayStore
    private let accounts: AccountDirectory
    private let router: EventRouter
    private let fanOut: any EventFanOut
    /// Events bound for RabbitMQ go to the store's outbox in the batch's transaction.
    let outbox: OutboxRouting
    private let logger: Logger
    private let batchSize: Int
    private let submitted = Atomic<Int>(0)
    private let progress = Mutex(Progress())

    private struct Progress {
        var processed = 0
        var waiters: [(Int, CheckedContinuation<Void, Never>)] = []
    }

    private let ingested = Counter(label: "gateway_messages_stored_total")
    private let duplicates = Counter(label: "gateway_messages_duplicate_total")
    private let rejected = Counter(label: "gateway_events_rejected_total")
    private let batches = Counter(label: "gateway_store_batches_total")
    /// Events given up on at shutdown because the store stayed unavailable.
    private let lost = Counter(label: "gateway_events_lost_total")

    public init(
        store: any GatewayStore, accounts: AccountDirectory, router: EventRouter, fanOut: any EventFanOut, logger: Logger,
        batchSize: Int, outbox: OutboxRouting = .disabled
    ) {
        self.outbox = outbox
        self.store = store
        self.accounts = accounts
        self.router = router
        self.fanOut = fanOut
        self.logger = logger
        self.batchSize = batchSize
    }

    /// Accept an event from a plugin of `channel`. Never blocks and never drops: the queue is
    /// unbounded, so during a store outage it grows (`backlog`) until the store answers.
    public func submit(_ event: PluginEvent, channel: String) {
        let sequence = submitted.add(1, ordering: .relaxed).newValue
        queue.push(Item(channel: channel, event: event, sequence: sequence))
    }

    /// Fan out an event that did not come through the queue (e.g. an API send), by the same
    /// routes; `store` actions are left out (the caller stored it).
    public func announce(_ event: GatewayEvent, facts: RoutingFacts) {
        let actions = router.actions(for: facts).filter { $0 != .store }
        if !actions.isEmpty { fanOut.deliver([(event, actions)]) }
    }

    /// Writes one change (an API send's outcome) together with the outbox rows of the event it
    /// announces, in one transaction; `event` makes that event from the write's result (nil:
    /// nothing to announce). The in-process fan-out stays with `announce`.
    public func write(
        _ write: StoreWrite, announcing facts: RoutingFacts, event: @escaping @Sendable (StoreWriteResult) -> GatewayEvent?
    ) async throws -> StoreWriteResult? {
        let keys = outbox.routingKeys(for: router.actions(for: facts), type: facts.type)
        guard !keys.isEmpty else { return try await store.write([write]).first }
        let results = try await store.write([write], outbox: [OutboxEntry(.resultOf(write: 0, make: event), routingKeys: keys)])
        outbox.onEnqueued()
        return results.first
    }

    /// Events accepted but not processed yet.
    public var backlog: Int { queue.count }

    /// Returns once every event submitted before the call has been processed.
    public func flush() async {
        let target = submitted.load(ordering: .relaxed)
        await withCheckedContinuation { continuation in
            let ready = progress.withLock { progress -> Bool in
                if progress.processed >= target { return true }
                progress.waiters.append((target, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Stop after processing what is queued (plugins must be closed first). While the store is
    /// unavailable the queue is retried for at most `shutdownGrace`, then what is left is counted
    /// and logged as lost.
    public func finish() {
        shutdownDeadline.withLock { $0 = $0 ?? .now + Self.shutdownGrace }
        queue.finish()
    }

    static let shutdownGrace = Duration.seconds(10)
    private let shutdownDeadline = Mutex<ContinuousClock.Instant?>(nil)
    private let storeOutageSince = Mutex<ContinuousClock.Instant?>(nil)

    /// How long the store has been unavailable to the pipeline (nil: it is answering).
    public var storeUnavailableFor: Duration? { storeOutageSince.withLock { $0 }.map { $0.duration(to: .now) } }

    /// The consumer loop; returns after `finish()` once the queue is drained.
    public func run() async {
        // Up to 1 ms of lingering turns a steady stream into few, large transactions.
        let linger = (minimum: max(1, batchSize / 4), time: Duration.milliseconds(1))
        var outage = StoreOutage(logger: logger)
        var lostCount = 0
        while let items = await queue.next(limit: batchSize, linger: linger) {
            lostCount += await store(items, outage: &outage)
            markProcessed(items.last?.sequence ?? 0)
        }
        if lostCount > 0 {
            lost.increment(by: lostCount)
            logger.critical(
                "\(lostCount) events could not be stored: the store was still unavailable \(Self.shutdownGrace) after shutdown began")
        }
    }

    /// Writes `items`, waiting out store outages; returns how many were given up on because
    /// shutdown's grace ran out during an outage. An item the store refuses is rejected.
    private func store(_ items: [Item], outage: inout StoreOutage) async -> Int {
        switch await writeWaitingOutOutages(items, outage: &outage) {
        case .stored: return 0
        case .abandoned: return items.count
        case .failed(let error):
            // A failed transaction is retried item by item so one bad event cannot block others.
            logger.error("store batch of \(items.count) failed, retrying one by one: \(error)")
            var lostCount = 0
            for item in items {
                switch await writeWaitingOutOutages([item], outage: &outage) {
                case .stored: break
                case .abandoned: lostCount += 1
                case .failed(let error):
                    rejected.increment()
                    logger.error("event from \(item.channel) could not be stored: \(error)")
                }
            }
            return lostCount
        }
    }

    private enum WriteOutcome {
        case stored, failed(any Error), abandoned
    }

    /// One write of `items`, repeated with backoff while the store is unavailable (`StoreUnavailable`):
    /// the events stay in hand and the queue behind them grows. After `finish()` each attempt and
    /// the waiting are bounded by the shutdown deadline.
    private func writeWaitingOutOutages(_ items: [Item], outage: inout StoreOutage) async -> WriteOutcome {
        while true {
            let deadline = shutdownDeadline.withLock { $0 }
            if outage.isOngoing, let deadline, deadline <= .now { return .abandoned }
            let error: (any Error)?
            if outage.isOngoing, let deadline {
                error = await withDeadline(ContinuousClock.now.duration(to: deadline)) { try await self.process(items) }
            } else {
                do { try await process(items); error = nil } catch let failure { error = failure }
            }
            guard let error else {
                if outage.isOngoing {
                    outage.recovered()
                    storeOutageSince.withLock { $0 = nil }
                }
                return .stored
            }
            guard let unavailable = error as? StoreUnavailable ?? (error is DeadlineExceeded ? StoreUnavailable("\(error)") : nil) else {
                if outage.isOngoing {
                    outage.recovered()
                    storeOutageSince.withLock { $0 = nil }
                }
                return .failed(error)
            }
            if !outage.isOngoing { storeOutageSince.withLock { $0 = .now } }
            let delay = outage.failed(unavailable, backlog: queue.count + items.count)
            if let deadline = shutdownDeadline.withLock({ $0 }) {
                guard deadline > .now else { return .abandoned }
                try? await Task.sleep(until: min(.now + delay, deadline), clock: .continuous)
            } else {
                try? await Task.sleep(for: delay)
            }
        }
    }

    private func markProcessed(_ sequence: Int) {
        let ready = progress.withLock { progress -> [CheckedContinuation<Void, Never>] in
            progress.processed = max(progress.processed, sequence)
            let ready = progress.waiters.filter { $0.0 <= progress.processed }.map(\.1)
            progress.waiters.removeAll { $0.0 <= progress.processed }
            return ready
        }
        for waiter in ready { waiter.resume() }
    }

    /// An event on its way: what to write and what to do after the commit.
    private enum Pending {
        case stored(resultIndex: Int, actions: [RouteAction], eventId: UUID)
        case direct(GatewayEvent, actions: [RouteAction])
    }

    private func process(_ items: [Item]) async throws {
        var writes: [StoreWrite] = []
        var pending: [Pending] = []
        var outboxEntries: [OutboxEntry] = []
        let now = Date()
        /// The store event of the write just appended, fanned out after the commit and (when a
        /// route publishes it) put in the outbox in the same transaction, under one id.
        func storedEvent(type: EventType, actions: [RouteAction]) {
            let index = writes.count - 1
            let id = UUID()
            pending.append(.stored(resultIndex: index, actions: actions, eventId: id))
            let keys = outbox.routingKeys(for: actions, type: type)
            if !keys.isEmpty {
                outboxEntries.append(OutboxEntry(.resultOf(write: index) { Self.event(for: $0, id: id, now: now) }, routingKeys: keys))
            }
        }
        for item in items {
            switch item.event {
            case .accountStatus(let update):
                guard let account = try await accounts.apply(update, channel: item.channel, now: now) else {
                    rejected.increment()
                    logger.warning("\(item.channel): status for unknown account \(update.accountId) ignored")
                    continue
                }
                // The gateway's own record of accounts is always kept; routes decide the fan-out.
                writes.append(.upsertAccount(account))
                let type = Self.eventType(for: account.status)
                let actions = router.actions(for: RoutingFacts(type: type, channel: item.channel, accountId: account.id))
                storedEvent(type: type, actions: actions.filter { $0 != .store })
            case .message(let incoming):
                guard let account = try await accounts.account(incoming.accountId, channel: item.channel) else {
                    rejected.increment()
                    logger.warning("\(item.channel): message for unknown account \(incoming.accountId) ignored")
                    continue
                }
                let message = Self.normalize(incoming, account: account, now: now)
                let type: EventType = message.direction == .inbound ? .messageReceived : .messageSent
                let facts = RoutingFacts(
                    type: type, channel: item.channel, accountId: account.id, direction: message.direction,
                    chatId: message.chatId, kind: incoming.chatKind ?? .user, text: message.content.text,
                    metadataKeys: incoming.metadata?.objectValue.map { Array($0.keys) } ?? [])
                let actions = router.actions(for: facts)
                if actions.contains(.store) {
                    writes.append(.insertMessage(message, chat: ChatInfo(kind: incoming.chatKind ?? .user, title: incoming.chatTitle)))
                    storedEvent(type: type, actions: actions.filter { $0 != .store })
                } else if !actions.isEmpty {
                    let event = GatewayEvent(type: type, organizationId: account.organizationId, data: .message(message))
                    pending.append(.direct(event, actions: actions))
                    let keys = outbox.routingKeys(for: actions, type: type)
                    if !keys.isEmpty { outboxEntries.append(OutboxEntry(.event(event), routingKeys: keys)) }
                }
            case .messageStatus(let update):
                guard let account = try await accounts.account(update.accountId, channel: item.channel) else {
                    rejected.increment()
                    continue
                }
                let actions = router.actions(for: RoutingFacts(
                    type: .messageStatus, channel: item.channel, accountId: account.id, chatId: update.chatId))
                if actions.contains(.store) {
                    writes.append(.updateStatus(update))
                    storedEvent(type: .messageStatus, actions: actions.filter { $0 != .store })
                }
            }
        }
        let results: [StoreWriteResult]
        if !outboxEntries.isEmpty {
            results = try await store.write(writes, outbox: outboxEntries)
            outbox.onEnqueued()
        } else {
            results = writes.isEmpty ? [] : try await store.write(writes)
        }
        if !writes.isEmpty { batches.increment() }
        var stored = 0
        var duplicated = 0
        var deliveries: [(event: GatewayEvent, actions: [RouteAction])] = []
        for entry in pending {
            switch entry {
            case .direct(let event, let actions):
                deliveries.append((event, actions))
            case .stored(let index, let actions, let id):
                switch results[index] {
                case .inserted: stored += 1
                case .duplicate: duplicated += 1
                default: break
                }
                guard !actions.isEmpty, let event = Self.event(for: results[index], id: id, now: now) else { continue }
                deliveries.append((event, actions))
            }
        }
        if !deliveries.isEmpty { fanOut.deliver(deliveries) }
        if stored > 0 { ingested.increment(by: stored) }
        if duplicated > 0 { duplicates.increment(by: duplicated) }
    }

    static func normalize(_ incoming: ChannelMessage, account: Account, now: Date) -> Message {
        let date = incoming.date.map(Date.init(timeIntervalSince1970:)) ?? now
        return Message(
            organizationId: account.organizationId, channel: account.platform, accountId: account.id,
            chatId: incoming.chatId, externalId: incoming.externalId, direction: incoming.direction,
            contact: incoming.contact,
            content: MessageContent(text: incoming.text, attachments: incoming.attachments),
            status: incoming.direction == .inbound ? .delivered : .sent, isRead: incoming.direction == .outbound,
            metadata: incoming.metadata, createdAt: date, sentAt: date)
    }

    static func eventType(for status: AccountStatus) -> EventType {
        switch status {
        case .connected: .accountConnected
        case .disconnected: .accountDisconnected
        default: .accountStatus
        }
    }

    static func event(for result: StoreWriteResult, id: UUID = UUID(), now: Date) -> GatewayEvent? {
        switch result {
        case .inserted(let message):
            GatewayEvent(
                id: id, type: message.direction == .inbound ? .messageReceived : .messageSent,
                organizationId: message.organizationId, data: .message(message), timestamp: now)
        case .statusChanged(let change, let organizationId):
            GatewayEvent(id: id, type: .messageStatus, organizationId: organizationId, data: .messageStatus(change), timestamp: now)
        case .account(let account):
            GatewayEvent(
                id: id, type: eventType(for: account.status), organizationId: account.organizationId, data: .account(account),
                timestamp: now)
        case .duplicate, .unchanged, .existing, .updated, .markedRead, .deleted:
            nil
        }
    }
}
