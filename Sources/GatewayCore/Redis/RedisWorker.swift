import Dispatch
import Foundation
import Logging
import Synchronization

/// A dedicated thread that owns one `RedisConnection` and runs jobs on it in submission order
/// (FIFO, so fire-and-forget commands keep their order). While Redis is unreachable the worker
/// reconnects with exponential backoff (100 ms doubling to 5 s), logging the outage once and
/// then every 30 s; jobs submitted meanwhile run at once with no connection (`nil`), so callers
/// fall back instead of waiting. `onConnect` runs first on every new connection (script
/// loading, re-registration); `onTick` runs every `tickInterval` (heartbeats).
final class RedisWorker: Sendable {
    typealias Job = @Sendable (RedisConnection?) -> Void

    private struct State {
        var jobs: [Job] = []
        var stopped = false
        var connected = false
        var started = false
        var ended = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let name: String
    let url: RedisURL
    private let logger: Logger
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let tickInterval: Duration
    private let onConnect: @Sendable (RedisConnection) throws(RedisError) -> Void
    private let onTick: @Sendable (RedisConnection?) -> Void
    let maxQueued: Int

    init(name: String, url: RedisURL, logger: Logger, tickInterval: Duration = .seconds(2), maxQueued: Int = 10_000,
         onConnect: @escaping @Sendable (RedisConnection) throws(RedisError) -> Void = { _ in },
         onTick: @escaping @Sendable (RedisConnection?) -> Void = { _ in })
    {
        self.name = name
        self.url = url
        self.logger = logger
        self.tickInterval = tickInterval
        self.maxQueued = maxQueued
        self.onConnect = onConnect
        self.onTick = onTick
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = name
        let started = state.withLock { state -> Bool in
            guard !state.started, !state.stopped else { return false }
            state.started = true
            return true
        }
        if started { thread.start() }
    }

    /// Runs what is queued (without a connection if there is none), then ends the thread;
    /// returns once it has ended (at most one command timeout later).
    func stop() async {
        await withCheckedContinuation { continuation in
            let wait = state.withLock { state -> Bool in
                state.stopped = true
                guard state.started, !state.ended else { return false }
                state.stopWaiters.append(continuation)
                return true
            }
            if wait { wake.signal() } else { continuation.resume() }
        }
    }

    var isConnected: Bool { state.withLock { $0.connected } }

    /// Queues a job; false (and the job is not run) when the queue is full or the worker stopped.
    @discardableResult
    func submit(_ job: @escaping Job) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped, state.jobs.count < maxQueued else { return false }
            state.jobs.append(job)
            return true
        }
        if accepted { wake.signal() }
        return accepted
    }

    /// Runs `body` on the worker's connection and returns its result; `.unavailable` at once
    /// when Redis is not connected.
    func run<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> T) async throws(RedisError) -> T {
        let result: Result<T, RedisError> = await withCheckedContinuation { continuation in
            let accepted = submit { connection in
                guard let connection else { return continuation.resume(returning: .failure(.unavailable("not connected"))) }
                do throws(RedisError) {
                    continuation.resume(returning: .success(try body(connection)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted { continuation.resume(returning: .failure(.unavailable("queue full or stopped"))) }
        }
        return try result.get()
    }

    private func loop() {
        var connection: RedisConnection?
        var backoff = Duration.milliseconds(100)
        var nextAttempt = ContinuousClock.now
        var nextTick = ContinuousClock.now
        var downSince: ContinuousClock.Instant?
        var lastDownLog: ContinuousClock.Instant?
        var everConnected = false

        func lost(_ reason: String, now: ContinuousClock.Instant) {
            connection?.close()
            connection = nil
            state.withLock { $0.connected = false }
            if downSince == nil {
                downSince = now
                lastDownLog = now
                logger.warning("\(name): Redis at \(url) \(everConnected ? "lost" : "unreachable"): \(reason); reconnecting with backoff")
            } else if let last = lastDownLog, last.duration(to: now) >= .seconds(30) {
                lastDownLog = now
                logger.warning("\(name): Redis at \(url) still unreachable after \(downSince!.duration(to: now)): \(reason)")
            }
            nextAttempt = now + backoff
            backoff = min(backoff * 2, .seconds(5))
        }

        while true {
            let now = ContinuousClock.now
            if connection == nil, now >= nextAttempt, !state.withLock({ $0.stopped }) {
                do throws(RedisError) {
                    let fresh = try RedisConnection(url: url)
                    try onConnect(fresh)
                    connection = fresh
                    state.withLock { $0.connected = true }
                    backoff = .milliseconds(100)
                    if let downSince {
                        logger.notice("\(name): Redis at \(url) reconnected after \(downSince.duration(to: .now))")
                    } else {
                        logger.info("\(name): connected to Redis at \(url)")
                    }
                    downSince = nil
                    everConnected = true
                } catch {
                    lost("\(error)", now: now)
                }
            }
            let (jobs, stopped) = state.withLock { state -> ([Job], Bool) in
                defer { state.jobs.removeAll() }
                return (state.jobs, state.stopped)
            }
            for job in jobs {
                job(connection)
                if let current = connection, !current.isOpen { lost("connection closed after an I/O error", now: .now) }
            }
            if stopped, jobs.isEmpty { break }
            if ContinuousClock.now >= nextTick {
                nextTick = ContinuousClock.now + tickInterval
                onTick(connection)
                if let current = connection, !current.isOpen { lost("connection closed after an I/O error", now: .now) }
            }
            if !jobs.isEmpty { continue }
            var wait = nextTick - ContinuousClock.now
            if connection == nil { wait = min(wait, nextAttempt - ContinuousClock.now) }
            if wait > .zero {
                let (seconds, attoseconds) = wait.components
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
            }
        }
        connection?.close()
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.connected = false
            state.ended = true
            defer { state.stopWaiters = [] }
            return state.stopWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
