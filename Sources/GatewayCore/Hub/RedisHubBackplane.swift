import Foundation
import GatewayModel
import Logging
import Synchronization

/// The hub's Redis backplane (cluster mode, `hub.redis.url`).
///
/// Keys (prefix `cg:hub:`):
/// - `events`: one stream of every instance's events, in the cluster's order (`o` org, `n`
///   offset, `a` account, `c` chat, `e` JSON). Every instance tails it (XREAD BLOCK on a
///   dedicated thread) and delivers to its own sockets. One stream, not one per organization:
///   organizations come and go, and one XREAD on one key needs no discovery of new ones.
/// - `org:<org>`: the organization's recoverable history (XRANGE from a client's offset),
///   trimmed to the recovery window and about `recovery_max_events` entries. Its entry ids
///   are the organization's offsets (`ms * 1000 + seq`), the same on every instance.
/// - `conn:<org>`: a hash of connection counts per instance; `orgs`: organizations with
///   counts; `instance:<id>`: each instance's heartbeat (expires after 10 s, renewed every 2 s),
///   so a dead instance's connections stop counting.
///
/// Commands run on one dedicated `RedisWorker` thread (FIFO: publishes keep their order), the
/// tail on another; neither ever blocks Swift's cooperative pool or an event loop.
final class RedisHubBackplane: HubBackplane {
    static let prefix = "cg:hub:"
    static let eventStream = prefix + "events"
    static let organizations = prefix + "orgs"
    static let countPrefix = prefix + "conn:"
    static let instancePrefix = prefix + "instance:"
    /// How long the cluster event stream reaches back: instances tail it live, so this only
    /// has to cover a reader's short hiccup.
    static let eventStreamLength = 100_000
    static let heartbeatTTL = Duration.seconds(10)
    /// Events per script call: a huge batch must not hold Redis for long.
    static let chunk = 512

    let instance: String
    let url: RedisURL
    private let config: HubConfig
    private let logger: Logger
    private let worker: RedisWorker
    private let shared = Shared()
    private let tail = Mutex<RedisStreamTail?>(nil)

    /// State the worker's closures share with the backplane.
    private final class Shared: Sendable {
        let sink = Mutex<(any HubClusterSink)?>(nil)
        /// Organizations whose count this instance has written (to clear them when they reach 0).
        let written = Mutex<Set<String>>([])
        /// When the last "delivered locally only" line was logged.
        let fallbackLog = Mutex<ContinuousClock.Instant?>(nil)

        var currentSink: (any HubClusterSink)? { sink.withLock { $0 } }
    }

    init(url: RedisURL, config: HubConfig, logger: Logger) {
        var hostname = ProcessInfo.processInfo.hostName
        if hostname.isEmpty { hostname = "gateway" }
        instance = "\(hostname)-\(getpid())-\(HubConnection.randomId().prefix(6))"
        self.url = url
        self.config = config
        var componentLogger = logger
        componentLogger[metadataKey: "component"] = "hub-redis"
        self.logger = componentLogger
        let logger = componentLogger
        let shared = self.shared
        let instance = self.instance
        let heartbeatMilliseconds = String(Self.heartbeatTTL.components.seconds * 1000)
        worker = RedisWorker(
            name: "hub-redis-commands", url: url, logger: logger, tickInterval: .seconds(2),
            onConnect: { connection throws(RedisError) in
                _ = try connection.command(["SET", Self.instancePrefix + instance, "1", "PX", heartbeatMilliseconds]).checked()
            },
            onTick: { connection in
                guard let connection, let sink = shared.currentSink else { return }
                Self.heartbeat(connection, instance: instance, counts: sink.localConnectionCounts(), shared: shared,
                               ttlMilliseconds: heartbeatMilliseconds, logger: logger)
            })
    }

    // MARK: - Lifecycle

    func start(sink: any HubClusterSink) {
        shared.sink.withLock { $0 = sink }
        worker.start()
        let logger = self.logger
        let reader = RedisStreamTail(name: "hub-redis-tail", url: url, key: Self.eventStream, logger: logger) { [weak sink] entries in
            guard let sink else { return }
            var events: [ClusterEvent] = []
            events.reserveCapacity(entries.count)
            for entry in entries {
                guard let event = Self.clusterEvent(entry) else {
                    logger.error("skipping malformed entry \(entry.id) of \(Self.eventStream)")
                    continue
                }
                events.append(event)
            }
            if !events.isEmpty { sink.deliver(events) }
        }
        tail.withLock { $0 = reader }
        reader.start()
        logger.info("cluster mode: instance \(instance), Redis at \(url)")
    }

    /// Stops tailing, removes this instance's counts and heartbeat, ends the threads.
    func stop() async {
        await tail.withLock({ $0 })?.stop()
        let instance = self.instance
        let organizations = shared.written.withLock { $0 }
        worker.submit { connection in
            guard let connection else { return }
            var commands: [[[UInt8]]] = [Self.argv(["DEL", Self.instancePrefix + instance])]
            for organization in organizations { commands.append(Self.argv(["HDEL", Self.countPrefix + organization, instance])) }
            _ = try? connection.pipeline(commands)
        }
        await worker.stop()
    }

    // MARK: - Events

    func publish(_ events: [GatewayEvent]) {
        guard !events.isEmpty else { return }
        // Per organization, in order; each organization's events in chunks.
        var organizations: [String] = []
        var grouped: [String: [GatewayEvent]] = [:]
        for event in events {
            if grouped[event.organizationId] == nil { organizations.append(event.organizationId) }
            grouped[event.organizationId, default: []].append(event)
        }
        let order = organizations
        let groups = grouped
        let shared = self.shared
        let config = self.config
        let logger = self.logger
        let accepted = worker.submit { connection in
            var undelivered: [GatewayEvent] = []
            var failure: RedisError?
            for organization in order {
                let group = groups[organization] ?? []
                for start in stride(from: 0, to: group.count, by: Self.chunk) {
                    let chunk = Array(group[start..<min(start + Self.chunk, group.count)])
                    guard let connection, failure == nil else {
                        undelivered += chunk
                        continue
                    }
                    do throws(RedisError) {
                        _ = try RedisHubScripts.publish.run(
                            on: connection, keys: [Self.prefix + "org:" + organization, Self.eventStream],
                            arguments: Self.publishArguments(organization: organization, events: chunk, config: config))
                    } catch {
                        failure = error
                        undelivered += chunk
                    }
                }
            }
            if !undelivered.isEmpty {
                Self.logFallback(logger, shared, count: undelivered.count, reason: failure.map { "\($0)" } ?? "Redis unreachable")
                shared.currentSink?.deliverLocally(undelivered)
            }
        }
        if !accepted {
            Self.logFallback(logger, shared, count: events.count, reason: "Redis command queue full")
            shared.currentSink?.deliverLocally(events)
        }
    }

    static func publishArguments(organization: String, events: [GatewayEvent], config: HubConfig) -> [[UInt8]] {
        var arguments: [[UInt8]] = [
            Array(organization.utf8), Array(String(config.recoveryMaxEvents).utf8),
            Array(String(config.recoveryWindowSeconds * 1000).utf8), Array(String(eventStreamLength).utf8),
        ]
        arguments.reserveCapacity(4 + events.count * 3)
        for event in events {
            var writer = JSONWriter(capacity: 1024)
            writer.write(event)
            arguments.append(Array(event.accountId.utf8))
            arguments.append(Array((event.chatId ?? "").utf8))
            arguments.append(writer.bytes)
        }
        return arguments
    }

    /// One line when events start going to local sockets only, then at most one every 10 s.
    private static func logFallback(_ logger: Logger, _ shared: Shared, count: Int, reason: String) {
        let now = ContinuousClock.now
        let log = shared.fallbackLog.withLock { last -> Bool in
            guard last.map({ $0.duration(to: now) >= Duration.seconds(10) }) ?? true else { return false }
            last = now
            return true
        }
        if log {
            logger.warning("\(count) event(s) delivered to this instance's sockets only (not to the cluster, not recoverable): \(reason)")
        }
    }

    /// An entry of the event stream as a ClusterEvent; nil when malformed.
    static func clusterEvent(_ entry: RedisStreamEntry) -> ClusterEvent? {
        guard let organization = entry.value("o"), let offsetText = entry.value("n"),
            let offset = Int(String(decoding: offsetText, as: UTF8.self)), let account = entry.value("a"),
            let chat = entry.value("c"), let json = entry.value("e"), json.first == UInt8(ascii: "{"), json.last == UInt8(ascii: "}")
        else { return nil }
        return ClusterEvent(
            organizationId: String(decoding: organization, as: UTF8.self), accountId: String(decoding: account, as: UTF8.self),
            chatId: chat.isEmpty ? nil : String(decoding: chat, as: UTF8.self), offset: offset, json: json)
    }

    // MARK: - Recovery

    /// Offsets are `ms * 1000 + seq`; the stream id is `ms-seq`.
    static func streamID(offset: Int) -> String? {
        guard offset >= 0 else { return nil }
        return "\(offset / 1000)-\(offset % 1000)"
    }

    static func offset(streamID: String) -> Int? {
        guard let id = RedisStreamID(streamID), id.sequence < 1000, id.milliseconds < UInt64(Int.max / 1000 - 1) else { return nil }
        return Int(id.milliseconds) * 1000 + Int(id.sequence)
    }

    func recover(organization: String, after offset: Int, windowSeconds: Int, limit: Int) async throws -> [ClusterEvent]? {
        guard let id = Self.streamID(offset: offset) else { return nil }
        let reply = try await worker.run { connection throws(RedisError) in
            try RedisHubScripts.recover.run(
                on: connection, keys: [Self.prefix + "org:" + organization], arguments: [Array(id.utf8), Array(String(limit + 1).utf8)])
        }
        guard let parts = reply.array, parts.count == 4, let now = parts[0].int, let kept = parts[2].int,
            let after = RedisStreamEntry.entries(from: parts[3])
        else { throw RedisError.unexpectedReply("recover script answered \(reply)") }
        return try Self.missed(
            organization: organization, offset: offset, now: now, newest: parts[1].string, offsetKept: kept == 1, after: after,
            windowMilliseconds: windowSeconds * 1000, limit: limit)
    }

    /// The recovery rules (the single-instance `RecoveryLog`'s, on the stream): nothing newer →
    /// recovered with nothing; an offset newer than the newest, or no longer kept, or more than
    /// `limit` events, or the first missed event older than the window → not recoverable.
    static func missed(organization: String, offset: Int, now: Int, newest: String?, offsetKept: Bool, after: [RedisStreamEntry],
                       windowMilliseconds: Int, limit: Int) throws -> [ClusterEvent]?
    {
        guard let newest, let newestOffset = Self.offset(streamID: newest) else { return nil }
        if offset == newestOffset { return [] }
        guard offset < newestOffset, offsetKept, after.count <= limit else { return nil }
        var events: [ClusterEvent] = []
        events.reserveCapacity(after.count)
        for entry in after {
            guard let entryOffset = Self.offset(streamID: entry.id), let json = entry.value("e") else {
                throw RedisError.unexpectedReply("malformed entry \(entry.id) in the history of \(organization)")
            }
            if events.isEmpty, entryOffset / 1000 < now - windowMilliseconds { return nil }
            events.append(ClusterEvent(organizationId: organization, accountId: "", chatId: nil, offset: entryOffset, json: json))
        }
        return events
    }

    // MARK: - Connection counts

    func admit(organization: String, cap: Int) async throws -> Bool {
        let instance = self.instance
        let shared = self.shared
        let reply = try await worker.run { connection throws(RedisError) in
            let mine = shared.currentSink?.localConnectionCount(organization: organization) ?? 1
            shared.written.withLock { _ = $0.insert(organization) }
            return try RedisHubScripts.admit.run(
                on: connection, keys: [Self.countPrefix + organization, Self.organizations],
                arguments: Self.argv([instance, String(mine), String(cap), Self.instancePrefix, organization]))
        }
        guard let parts = reply.array, parts.count == 2, let admitted = parts[0].int else {
            throw RedisError.unexpectedReply("admit script answered \(reply)")
        }
        return admitted == 1
    }

    func connectionCountChanged(organization: String) {
        let instance = self.instance
        let shared = self.shared
        worker.submit { connection in
            guard let connection else { return }  // the next heartbeat after reconnecting writes it
            let mine = shared.currentSink?.localConnectionCount(organization: organization) ?? 0
            let command = mine > 0
                ? ["HSET", Self.countPrefix + organization, instance, String(mine)]
                : ["HDEL", Self.countPrefix + organization, instance]
            if mine == 0 { shared.written.withLock { _ = $0.remove(organization) } }
            _ = try? connection.command(command)
        }
    }

    /// Renews this instance's heartbeat and rewrites its counts (so they are right again after
    /// Redis lost them, or after a command failed).
    private static func heartbeat(_ connection: RedisConnection, instance: String, counts: [String: Int], shared: Shared,
                                  ttlMilliseconds: String, logger: Logger)
    {
        let stale = shared.written.withLock { written -> Set<String> in
            let stale = written.subtracting(counts.keys)
            written = Set(counts.keys)
            return stale
        }
        var commands: [[[UInt8]]] = [argv(["SET", instancePrefix + instance, "1", "PX", ttlMilliseconds])]
        for (organization, count) in counts where count > 0 {
            commands.append(argv(["HSET", countPrefix + organization, instance, String(count)]))
            commands.append(argv(["SADD", organizations, organization]))
        }
        for organization in stale { commands.append(argv(["HDEL", countPrefix + organization, instance])) }
        do throws(RedisError) {
            for case .error(let message) in try connection.pipeline(commands) { logger.error("heartbeat: \(message)") }
        } catch {
            logger.warning("heartbeat failed: \(error)")
        }
    }

    func health() async -> ClusterHealth {
        var health = ClusterHealth(instance: instance, redis: "unreachable", connectionsPerOrganization: nil)
        do {
            let reply = try await worker.run { connection throws(RedisError) in
                try RedisHubScripts.counts.run(
                    on: connection, keys: [Self.organizations], arguments: Self.argv([Self.countPrefix, Self.instancePrefix]))
            }
            guard let flat = reply.array, flat.count % 2 == 0 else { throw RedisError.unexpectedReply("counts script answered \(reply)") }
            var counts: [String: Int] = [:]
            for index in stride(from: 0, to: flat.count, by: 2) {
                if let organization = flat[index].string, let count = flat[index + 1].int { counts[organization] = count }
            }
            health.redis = "connected"
            health.connectionsPerOrganization = counts
        } catch {
            logger.debug("health: \(error)")
        }
        return health
    }

    static func argv(_ arguments: [String]) -> [[UInt8]] {
        arguments.map { Array($0.utf8) }
    }
}
