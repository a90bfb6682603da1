import Dispatch
import Foundation
import Logging
import Metrics
import Synchronization

/// Publishes the store's event outbox to RabbitMQ (bus.rabbitmq.url): oldest rows first, in
/// batches, as persistent messages on a durable topic exchange, with publisher confirms; rows
/// are deleted only once the broker confirmed them. A nack, a lost connection or a missing
/// confirm leaves the batch in the outbox: the publisher reconnects with backoff (100 ms doubling
/// to 5 s) and publishes it again — at least once; consumers deduplicate by `message_id` (the
/// event id). The outage is logged once (then every 30 s) and its end once.
///
/// librabbitmq blocks, so the connection lives on a serial dispatch queue of its own; the loop
/// itself is a task that sleeps until new rows are written (`wake`) or a second passes (keeps
/// the idle connection's heartbeats answered and retries outages).
public final class RabbitMQPublisher: Sendable {
    public let url: RabbitMQURL
    public let exchange: String
    private let store: any EventOutboxStore
    private let logger: Logger
    private let batchSize: Int
    private let confirmTimeout: Duration
    private let connectTimeout: Duration
    private let queue = DispatchQueue(label: "gateway.rabbitmq.publisher")
    private let signal = WakeSignal()
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// The backlog for /health, at most a second old (load balancers probe often; a long outage
    /// makes the outbox large).
    private let backlogCache = Mutex<(Int, ContinuousClock.Instant)?>(nil)
    private let publishedCounter = Counter(label: "gateway_rabbitmq_published_total")
    private let failureCounter = Counter(label: "gateway_rabbitmq_publish_failures_total")

    private struct State {
        var stopped = false
        var connected = false
        var everConnected = false
        var published = 0
        var failures = 0
        var lastError: String?
        var downSince: ContinuousClock.Instant?
        var lastDownLog: ContinuousClock.Instant?
        var backoff = Duration.milliseconds(100)
        var nextAttempt = ContinuousClock.now
    }

    /// Touched on `queue` only.
    private final class Link: @unchecked Sendable {
        var connection: RabbitMQConnection?
    }

    private let link = Link()

    public init(
        url: RabbitMQURL, exchange: String, store: any EventOutboxStore, logger: Logger, batchSize: Int = 500,
        confirmTimeout: Duration = .seconds(15), connectTimeout: Duration = .seconds(5)
    ) {
        self.url = url
        self.exchange = exchange
        self.store = store
        self.logger = logger
        self.batchSize = batchSize
        self.confirmTimeout = confirmTimeout
        self.connectTimeout = connectTimeout
    }

    public func start() {
        task.withLock { task in
            guard task == nil else { return }
            task = Task { await self.run() }
        }
    }

    /// New outbox rows were committed.
    public func wake() { signal.signal() }

    /// Ends the loop after publishing what the outbox holds while the broker is connected (a few
    /// batches at most; unconfirmed rows stay in the outbox for the next start) and closes the
    /// connection.
    public func stop() async {
        state.withLock { $0.stopped = true }
        signal.signal()
        await task.withLock { $0 }?.value
        await onQueue { link in
            link.connection?.close()
            link.connection = nil
        }
    }

    public func health() async -> RabbitMQHealth {
        let snapshot = state.withLock { $0 }
        var backlog: Int?
        var backlogError: String?
        let now = ContinuousClock.now
        if let (count, at) = backlogCache.withLock({ $0 }), at.duration(to: now) < .seconds(1) {
            backlog = count
        } else {
            do {
                let count = try await store.outboxCount()
                backlogCache.withLock { $0 = (count, now) }
                backlog = count
            } catch { backlogError = "\(error)" }
        }
        return RabbitMQHealth(
            status: snapshot.connected ? "connected" : "unreachable", url: url.description, exchange: exchange,
            outboxBacklog: backlog, published: snapshot.published, publishFailures: snapshot.failures,
            lastError: snapshot.lastError ?? backlogError)
    }

    public var isConnected: Bool { state.withLock { $0.connected } }

    private var stopped: Bool { state.withLock { $0.stopped } }

    private func run() async {
        while !stopped {
            var more = false
            do {
                let handed = try await store.drainOutbox(limit: batchSize) { rows in try await self.publish(rows) }
                more = (handed ?? 0) > 0
            } catch let error as RabbitMQError {
                _ = error  // logged by `publish`
            } catch {
                logger.error("RabbitMQ outbox: reading the store failed: \(error)")
            }
            if more, !stopped, isConnected { continue }
            let delay = state.withLock { state -> Duration in
                state.connected ? .seconds(1) : max(.milliseconds(50), ContinuousClock.now.duration(to: state.nextAttempt))
            }
            await signal.wait(timeout: min(delay, .seconds(1)))
            if !stopped { await keepAlive() }
        }
        // The pipeline was drained before `stop`: publish its last rows while the broker is there
        // (a bounded number of batches; what remains waits in the outbox for the next start).
        for _ in 0..<20 {
            guard isConnected, let handed = try? await store.drainOutbox(limit: batchSize, publish: { rows in try await self.publish(rows) }),
                handed > 0
            else { break }
        }
    }

    /// Publishes a batch and waits for its confirms; the rows' sequences once all are confirmed.
    private func publish(_ rows: [OutboxRow]) async throws -> [Int64] {
        try await onQueue { [self] link throws(RabbitMQError) -> [Int64] in
            let connection = try connected(link)
            do throws(RabbitMQError) {
                let last = try connection.publish(rows)
                try connection.waitForConfirms(through: last, timeout: confirmTimeout)
            } catch {
                link.connection?.abandon()
                link.connection = nil
                failed(error, wasConnected: true)
                throw error
            }
            state.withLock { $0.published += rows.count }
            publishedCounter.increment(by: rows.count)
            return rows.map(\.sequence)
        }
    }

    /// While idle: connect when an attempt is due, and answer the broker's heartbeats.
    private func keepAlive() async {
        _ = try? await onQueue { [self] link throws(RabbitMQError) in
            if let connection = link.connection {
                do throws(RabbitMQError) { try connection.poll() } catch {
                    connection.abandon()
                    link.connection = nil
                    failed(error, wasConnected: true)
                }
            } else if state.withLock({ ContinuousClock.now >= $0.nextAttempt }) {
                _ = try connected(link)
            }
        }
    }

    /// The open connection, or a new one (a failure counts toward the outage and throws).
    private func connected(_ link: Link) throws(RabbitMQError) -> RabbitMQConnection {
        if let connection = link.connection { return connection }
        if let wait = state.withLock({ $0.downSince == nil ? nil : ContinuousClock.now.duration(to: $0.nextAttempt) }), wait > .zero {
            throw .connect("reconnecting in \(wait)")  // backoff: not an attempt, not logged
        }
        do throws(RabbitMQError) {
            let connection = try RabbitMQConnection(url: url, exchange: exchange, timeout: connectTimeout)
            link.connection = connection
            let downtime = state.withLock { state -> Duration? in
                defer {
                    state.connected = true
                    state.everConnected = true
                    state.downSince = nil
                    state.backoff = .milliseconds(100)
                    state.lastError = nil
                }
                return state.downSince.map { $0.duration(to: .now) }
            }
            if let downtime {
                logger.notice("RabbitMQ at \(url) reconnected after \(downtime); publishing the outbox to \"\(exchange)\"")
            } else {
                logger.info("connected to RabbitMQ at \(url); publishing events to the topic exchange \"\(exchange)\"")
            }
            return connection
        } catch {
            failed(error, wasConnected: false)
            throw error
        }
    }

    /// Records a failure: the first of an outage is logged, then one line every 30 s.
    private func failed(_ error: RabbitMQError, wasConnected: Bool) {
        failureCounter.increment()
        let now = ContinuousClock.now
        let line = state.withLock { state -> String? in
            state.connected = false
            state.failures += 1
            state.lastError = error.description
            state.nextAttempt = now + state.backoff
            state.backoff = min(state.backoff * 2, .seconds(5))
            if state.downSince == nil {
                state.downSince = now
                state.lastDownLog = now
                let what = wasConnected ? "lost" : (state.everConnected ? "still unreachable" : "unreachable")
                return "RabbitMQ at \(url) \(what): \(error); events stay in the outbox, retrying with backoff"
            }
            if let last = state.lastDownLog, last.duration(to: now) >= .seconds(30) {
                state.lastDownLog = now
                return "RabbitMQ at \(url) still unreachable after \(state.downSince!.duration(to: now)): \(error)"
            }
            return nil
        }
        if let line { logger.warning("\(line)") }
    }

    /// Runs blocking librabbitmq work on the publisher's queue and suspends until it is done.
    private func onQueue<T: Sendable>(_ body: @escaping @Sendable (Link) throws(RabbitMQError) -> T) async throws(RabbitMQError) -> T {
        let result: Result<T, RabbitMQError> = await withCheckedContinuation { continuation in
            queue.async { [link] in
                do throws(RabbitMQError) {
                    continuation.resume(returning: .success(try body(link)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private func onQueue(_ body: @escaping @Sendable (Link) -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [link] in
                body(link)
                continuation.resume()
            }
        }
    }
}

/// `/health`'s `rabbitmq` section.
public struct RabbitMQHealth: Codable, Sendable {
    /// "connected" or "unreachable".
    public var status: String
    public var url: String
    public var exchange: String
    /// Events in the outbox not yet confirmed by the broker (nil: the store could not say).
    public var outboxBacklog: Int?
    /// Messages the broker confirmed since the start.
    public var published: Int
    /// Failed connection attempts and batches (each batch is published again).
    public var publishFailures: Int
    public var lastError: String?
}
