import Foundation
import GatewayModel
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// One gateway: store, ingest pipeline, plugin host and event bus, wired from a config.
public final class Gateway: Sendable {
    public static let version = "0.1.0"

    public let config: GatewayConfig
    public let store: any GatewayStore
    public let pipeline: IngestPipeline
    public let plugins: PluginHost
    public let bus: EventBus
    public let accounts: AccountDirectory
    public let webhooks: WebhookDispatcher
    public let authenticator: any Authenticator
    public let hub: Hub
    /// Which instance drives each channel account: leases in PostgreSQL in cluster mode
    /// (the PostgreSQL store and `hub.redis.url`), else everything here.
    public let ownership: any AccountOwnership
    /// Cluster mode: proxies API calls to the instance that drives the account.
    let forwarder: RequestForwarder?
    /// Cluster mode (`hub.redis.url`): the hub's Redis backplane.
    private let hubBackplane: (any HubBackplane)?
    /// `bus.rabbitmq.url`: publishes the store's event outbox to RabbitMQ.
    public let rabbitmq: RabbitMQPublisher?
    private let hubTasks = Mutex<[Task<Void, Never>]>([])
    private let statsCache = Mutex<(StoreStats, ContinuousClock.Instant)?>(nil)
    let logger: Logger
    private let startedAt = Date()
    private let ingestTask = Mutex<Task<Void, Never>?>(nil)

    /// Opens the store and migrates it; plugins load when the gateway runs.
    public init(config: GatewayConfig, pluginDirectory: String? = nil, logger: Logger) async throws {
        self.config = config
        self.logger = logger
        let rabbitmqURL = try config.bus.rabbitmqURL.map { text in
            do { return try RabbitMQURL(parsing: text) } catch { throw GatewayStartupError("bus.rabbitmq.url: \(error)") }
        }
        let sqlite: any GatewayStore & PluginStateStore = try await Self.openStore(
            config.storage.backend, listingCacheBytes: config.storage.listingCacheMegabytes << 20, logger: logger)
        store = sqlite
        bus = EventBus()
        accounts = AccountDirectory(store: sqlite)
        webhooks = WebhookDispatcher(client: .shared, store: sqlite, config: config.webhooks, logger: logger)
        let rabbitmq = rabbitmqURL.map {
            RabbitMQPublisher(url: $0, exchange: config.bus.rabbitmqExchange, store: sqlite, logger: logger)
        }
        self.rabbitmq = rabbitmq
        if rabbitmq != nil, !config.routes.contains(where: { $0.actions.contains { if case .publish = $0 { true } else { false } } }) {
            logger.warning("bus.rabbitmq.url is set but no route has a publish action: nothing will reach RabbitMQ (add `publish: events` to a route's `to`)")
        }
        pipeline = IngestPipeline(
            store: sqlite, accounts: accounts, router: EventRouter(routes: config.routes),
            fanOut: BusFanOut(bus: bus, webhooks: webhooks), logger: logger, batchSize: config.storage.batchSize,
            outbox: OutboxRouting(enabled: rabbitmq != nil, onEnqueued: { rabbitmq?.wake() }))
        if let url = config.auth.remoteURL {
            authenticator = RemoteAuthenticator(url: url, cacheSeconds: config.auth.remoteCacheSeconds, client: .shared)
        } else {
            if config.auth.jwt.secret == nil, config.auth.jwt.publicKeyFile == nil, config.auth.jwt.jwksFile == nil {
                logger.warning("no auth.jwt key and no auth.remote.url configured: every /api request will be refused")
            }
            authenticator = try await JWTAuthenticator(config: config.auth.jwt)
        }
        hubBackplane = try config.hub.redisURL.map { text in
            do {
                return RedisHubBackplane(url: try RedisURL(parsing: text), config: config.hub, logger: logger)
            } catch {
                throw GatewayStartupError("hub.redis.url: \(error)")
            }
        }
        hub = Hub(
            config: config.hub, authenticator: authenticator, store: sqlite, accounts: accounts, logger: logger, backplane: hubBackplane)
        let stateStore: any PluginStateStore = config.storage.stateKey.map {
            EncryptedPluginStateStore(base: sqlite, key: EncryptedPluginStateStore.key(from: $0))
        } ?? sqlite
        let clusterStore = config.hub.redisURL == nil ? nil : sqlite as? PostgresStore
        plugins = PluginHost(
            pluginDirectory: pluginDirectory ?? PluginHost.defaultPluginDirectory, stateStore: stateStore,
            pipeline: pipeline, logger: logger, requestTimeout: .seconds(config.api.channelTimeoutSeconds),
            stateEncrypted: config.storage.stateKey != nil, hostOwnsAccounts: clusterStore != nil)
        if let clusterStore {
            let identity = ClusterIdentity(config: config)
            ownership = LeasedOwnership(
                leases: AccountLeaseStore(store: clusterStore), identity: identity, leaseSeconds: config.cluster.leaseSeconds,
                plugins: plugins, logger: logger)
            forwarder = RequestForwarder(instanceId: identity.instanceId, timeout: .seconds(config.api.channelTimeoutSeconds + 5))
        } else {
            ownership = LocalOwnership()
            forwarder = nil
        }
    }

    /// The configured store, opened and migrated: PostgreSQL when `storage.postgres.url` is set,
    /// else the embedded SQLite file.
    public static func openStore(_ backend: StorageConfig.Backend, listingCacheBytes: Int = 32 << 20, logger: Logger) async throws
        -> any GatewayStore & PluginStateStore
    {
        switch backend {
        case .sqlite(let path):
            let store = try SQLiteStore(path: path, listingCacheBytes: listingCacheBytes)
            try await store.migrate()
            return store
        case .postgres(let url):
            do {
                let store = try await PostgresStore(url: url, logger: logger)
                do {
                    try await store.migrate()
                } catch {
                    await store.close()
                    throw error
                }
                return store
            } catch let error as PostgresStoreError {
                throw GatewayStartupError("storage.postgres: \(error.description)")
            }
        }
    }

    /// The HTTP application with every gateway service; run it with `runService()`.
    public func application(metrics: PrometheusCollectorRegistry?, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        Application(
            router: HTTPRoutes.build(gateway: self, metrics: metrics),
            // WebSocket upgrades of /socket.io/ are served by the hub's NIO handler (WebSocketWire);
            // everything else by Hummingbird. No WebSocket-level auto ping: Engine.IO's heartbeat
            // already detects dead peers.
            server: HubHTTPChannel.builder(hub: hub),
            configuration: .init(address: .hostname(config.server.host, port: config.server.port), serverName: "ChannelGateway"),
            services: [GatewayService(gateway: self)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    public func health() async -> HealthReport {
        var storeHealth = HealthReport.StoreHealth(status: "ok", backend: "sqlite")
        if let outage = pipeline.storeUnavailableFor {
            // The pipeline is waiting the outage out; asking the store now would wait in its pool.
            storeHealth.status = "unavailable"
            storeHealth.backend = store is PostgresStore ? "postgres" : "sqlite"
            storeHealth.error = "the store has been unavailable for \(StoreOutage.seconds(outage)) s; incoming events are kept and retried"
        } else {
            do {
                let stats = try await cachedStoreStats()
                storeHealth.backend = stats.backend
                storeHealth.messages = stats.messages
                storeHealth.chats = stats.chats
                storeHealth.accounts = stats.accounts
            } catch {
                storeHealth.status = error is StoreUnavailable ? "unavailable" : "error"
                storeHealth.error = "\(error)"
            }
        }
        let plugins = self.plugins.pluginStatuses
        let cluster = await hubBackplane?.health()
        let rabbitmqHealth = await rabbitmq?.health()
        let degraded = storeHealth.status != "ok" || plugins.contains { $0.state == .refused } || cluster.map { $0.redis != "connected" } ?? false
            || rabbitmqHealth.map { $0.status != "connected" } ?? false
        let connections = hub.connectionCounts
        return HealthReport(
            status: degraded ? "degraded" : "ok", version: Self.version, uptimeSeconds: Date().timeIntervalSince(startedAt),
            plugins: plugins, store: storeHealth,
            pipeline: .init(backlog: pipeline.backlog, droppedBusEvents: bus.droppedCount),
            hub: .init(connections: connections.total, connectionsPerOrganization: connections.perOrganization, cluster: cluster),
            rabbitmq: rabbitmqHealth)
    }

    /// Store counts for /health, at most a second old: counting a large table on every probe of
    /// a load balancer would make the health check the most expensive endpoint.
    private func cachedStoreStats() async throws -> StoreStats {
        let now = ContinuousClock.now
        if let (stats, at) = statsCache.withLock({ $0 }), at.duration(to: now) < .seconds(1) { return stats }
        let stats = try await store.stats()
        statsCache.withLock { $0 = (stats, now) }
        return stats
    }

    /// Starts the pipeline, then loads and opens the plugins.
    /// Idempotent: a gateway started by hand (tests, benchmarks) and then served runs once.
    public func start() async {
        let pipeline = self.pipeline
        let first = ingestTask.withLock { task -> Bool in
            guard task == nil else { return false }
            task = Task { await pipeline.run() }
            return true
        }
        guard first else { return }
        let hub = self.hub
        hubBackplane?.start(sink: hub)
        rabbitmq?.start()
        let events = bus.subscribe(topics: [EventBus.hubTopic])
        hubTasks.withLock { tasks in
            tasks = [Task { await hub.run(events: events) }, Task { await hub.runHeartbeats() }]
        }
        await plugins.load(config.plugins)
        await ownership.start()
    }

    /// Closes plugins (their outstanding replies delivered), drains the pipeline into the store,
    /// and closes the store.
    public func stop() async {
        // Accounts are released (and their leases deleted) first: other instances take over now.
        await ownership.stop()
        await forwarder?.shutdown()
        logger.info("shutting down: closing plugins")
        await plugins.closeAll()
        pipeline.finish()
        await ingestTask.withLock { $0 }?.value
        await rabbitmq?.stop()
        await store.close()
        bus.finish()
        for task in hubTasks.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        await hubBackplane?.stop()
        logger.info("store flushed; bye")
    }

    /// Runs until graceful shutdown (SIGTERM/SIGINT through ServiceLifecycle).
    public func run() async {
        await start()
        try? await gracefulShutdown()
        await stop()
    }
}

struct GatewayService: Service {
    let gateway: Gateway

    func run() async throws {
        await gateway.run()
    }
}

public struct GatewayStartupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
