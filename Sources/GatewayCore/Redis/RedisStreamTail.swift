import Foundation
import Logging
import Synchronization

/// One entry of a Redis stream: its id (`<ms>-<seq>`) and its field/value pairs.
struct RedisStreamEntry: Sendable, Equatable {
    var id: String
    var fields: [(name: String, value: [UInt8])]

    func value(_ name: String) -> [UInt8]? {
        fields.first { $0.name == name }?.value
    }

    static func == (a: Self, b: Self) -> Bool {
        a.id == b.id && a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// Entries from an XRANGE/XREVRANGE reply (or one stream of an XREAD reply); nil when the
    /// reply has another shape.
    static func entries(from reply: RedisReply) -> [RedisStreamEntry]? {
        guard let items = reply.array else { return nil }
        var entries: [RedisStreamEntry] = []
        entries.reserveCapacity(items.count)
        for item in items {
            guard let pair = item.array, pair.count == 2, let id = pair[0].string, let flat = pair[1].array, flat.count % 2 == 0 else {
                return nil
            }
            var fields: [(name: String, value: [UInt8])] = []
            fields.reserveCapacity(flat.count / 2)
            for index in stride(from: 0, to: flat.count, by: 2) {
                guard let name = flat[index].string, let value = flat[index + 1].bytes else { return nil }
                fields.append((name, value))
            }
            entries.append(RedisStreamEntry(id: id, fields: fields))
        }
        return entries
    }
}

/// Stream ids `<ms>-<seq>`, compared numerically.
struct RedisStreamID: Sendable, Comparable, CustomStringConvertible {
    var milliseconds: UInt64
    var sequence: UInt64

    static let zero = RedisStreamID(milliseconds: 0, sequence: 0)

    init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let ms = UInt64(parts[0]), let seq = UInt64(parts[1]) else { return nil }
        self.init(milliseconds: ms, sequence: seq)
    }

    var description: String { "\(milliseconds)-\(sequence)" }

    static func < (a: Self, b: Self) -> Bool {
        (a.milliseconds, a.sequence) < (b.milliseconds, b.sequence)
    }
}

/// Tails one Redis stream on a dedicated thread with its own connection (XREAD BLOCK), handing
/// each batch of new entries to `handler` on that thread, in stream order. It starts at the
/// stream's newest entry; after a lost connection it reconnects with backoff and continues after
/// the last entry it handed over — or from the beginning when the stream was lost meanwhile
/// (Redis restarted without its data), so entries written since are not missed.
final class RedisStreamTail: Sendable {
    private struct State {
        var stopped = false
        var started = false
        var ended = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var connected = false
    }

    let name: String
    let url: RedisURL
    let key: String
    private let logger: Logger
    private let handler: @Sendable ([RedisStreamEntry]) -> Void
    private let state = Mutex(State())
    private let block: Duration
    private let count: Int

    init(name: String, url: RedisURL, key: String, logger: Logger, block: Duration = .seconds(1), count: Int = 1000,
         handler: @escaping @Sendable ([RedisStreamEntry]) -> Void)
    {
        self.name = name
        self.url = url
        self.key = key
        self.logger = logger
        self.handler = handler
        self.block = block
        self.count = count
    }

    var isConnected: Bool { state.withLock { $0.connected } }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = name
        let start = state.withLock { state -> Bool in
            guard !state.started, !state.stopped else { return false }
            state.started = true
            return true
        }
        if start { thread.start() }
    }

    /// Ends the thread (within the XREAD block time) and returns once it has ended.
    func stop() async {
        await withCheckedContinuation { continuation in
            let wait = state.withLock { state -> Bool in
                state.stopped = true
                guard state.started, !state.ended else { return false }
                state.stopWaiters.append(continuation)
                return true
            }
            if !wait { continuation.resume() }
        }
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    private func loop() {
        var last: RedisStreamID?
        var backoff = Duration.milliseconds(100)
        var downSince: ContinuousClock.Instant?
        var lastDownLog = ContinuousClock.now
        let blockMilliseconds = String(block.components.seconds * 1000 + block.components.attoseconds / 1_000_000_000_000_000)
        while !stopped {
            let connection: RedisConnection
            do throws(RedisError) {
                connection = try RedisConnection(url: url, commandTimeout: block + .seconds(5))
                // Where to continue: the newest entry on first start; after an outage, from the
                // beginning if the stream no longer reaches back to where we were.
                let newest = try connection.command(["XREVRANGE", key, "+", "-", "COUNT", "1"]).checked()
                let newestID = RedisStreamEntry.entries(from: newest)?.first.flatMap { RedisStreamID($0.id) }
                if let previous = last {
                    if newestID == nil || newestID! < previous {
                        logger.warning("\(name): stream \(key) restarted (Redis lost it); reading it from the beginning")
                        last = .zero
                    }
                } else {
                    last = newestID ?? .zero
                }
                state.withLock { $0.connected = true }
                if let since = downSince {
                    logger.notice("\(name): Redis at \(url) reconnected after \(since.duration(to: .now))")
                }
                downSince = nil
                backoff = .milliseconds(100)
            } catch {
                let now = ContinuousClock.now
                if downSince == nil {
                    downSince = now
                    lastDownLog = now
                    logger.warning("\(name): Redis at \(url) unreachable: \(error); reconnecting with backoff")
                } else if lastDownLog.duration(to: now) >= .seconds(30) {
                    lastDownLog = now
                    logger.warning("\(name): Redis at \(url) still unreachable: \(error)")
                }
                sleep(backoff)
                backoff = min(backoff * 2, .seconds(5))
                continue
            }
            while !stopped {
                let reply: RedisReply
                do throws(RedisError) {
                    reply = try connection.command([
                        "XREAD", "COUNT", String(count), "BLOCK", blockMilliseconds, "STREAMS", key, last!.description,
                    ]).checked()
                } catch {
                    if error.breaksConnection {
                        state.withLock { $0.connected = false }
                        downSince = .now
                        lastDownLog = .now
                        logger.warning("\(name): Redis at \(url) lost: \(error); reconnecting with backoff")
                        break
                    }
                    logger.error("\(name): XREAD on \(key) failed: \(error)")
                    sleep(.seconds(1))
                    continue
                }
                if reply == .null { continue }  // BLOCK timed out
                guard let streams = reply.array, let stream = streams.first?.array, stream.count == 2,
                    let entries = RedisStreamEntry.entries(from: stream[1])
                else {
                    logger.error("\(name): unexpected XREAD reply on \(key); skipping it")
                    continue
                }
                guard let newest = entries.last.flatMap({ RedisStreamID($0.id) }) else { continue }
                last = newest
                handler(entries)
            }
            connection.close()
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.connected = false
            state.ended = true
            defer { state.stopWaiters = [] }
            return state.stopWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func sleep(_ duration: Duration) {
        // In small steps, so stop() is not held up by a long backoff.
        let deadline = ContinuousClock.now + duration
        while !stopped, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
