import Foundation
import GatewayModel
import Yams

/// Reads gateway.yaml into `GatewayConfig`, reporting every problem with file:line:column.
public enum ConfigLoader {
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> GatewayConfig
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigErrors(issues: [ConfigIssue(file: path, line: 1, column: 1, message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigErrors(issues: [ConfigIssue(file: path, line: 1, column: 1, message: "the file is not UTF-8")])
        }
        return try parse(text, file: path, environment: environment)
    }

    public static func parse(_ yaml: String, file: String, environment: [String: String]) throws -> GatewayConfig {
        let reader = YAMLReader(file: file, environment: environment)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigErrors(issues: [syntaxIssue(error, file: file)])
        }
        var config = GatewayConfig()
        if let root {
            read(root, into: &config, reader)
        }
        if !reader.issues.isEmpty {
            throw ConfigErrors(issues: reader.issues.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return config
    }

    private static func syntaxIssue(_ error: YamlError, file: String) -> ConfigIssue {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return ConfigIssue(file: file, line: mark.line, column: mark.column, message: "YAML syntax error: \(detail)")
        default:
            return ConfigIssue(file: file, line: 1, column: 1, message: "YAML error: \(error)")
        }
    }

    private static let topLevelKeys = [
        "version", "server", "auth", "storage", "hub", "bus", "plugins", "routes", "metrics", "logging", "api", "webhooks",
        "cluster",
    ]

    private static func read(_ root: Node, into config: inout GatewayConfig, _ reader: YAMLReader) {
        guard let top = reader.mapping(root, at: "the config", allowed: topLevelKeys) else { return }
        if let version = top["version"], let number = reader.int(version, at: "version", in: 1...1) {
            _ = number
        }
        if let node = top["server"] { readServer(node, into: &config.server, reader) }
        if let node = top["auth"] { readAuth(node, into: &config.auth, reader) }
        if let node = top["storage"] { readStorage(node, into: &config.storage, reader) }
        if let node = top["hub"] { readHub(node, into: &config.hub, reader) }
        if let node = top["bus"], let bus = reader.mapping(node, at: "bus", allowed: ["rabbitmq"]) {
            if let rabbit = bus["rabbitmq"], let entries = reader.mapping(rabbit, at: "bus.rabbitmq", allowed: ["url", "exchange"]) {
                config.bus.rabbitmqURL = reader.optionalString(entries["url"], at: "bus.rabbitmq.url")
                if let exchange = reader.optionalString(entries["exchange"], at: "bus.rabbitmq.exchange") {
                    config.bus.rabbitmqExchange = exchange
                }
            }
        }
        if let node = top["plugins"] { config.plugins = readPlugins(node, reader) }
        if let node = top["api"],
            let api = reader.mapping(node, at: "api", allowed: ["rate_limit_per_minute", "channel_timeout_seconds"])
        {
            if let value = api["rate_limit_per_minute"],
                let limit = reader.int(value, at: "api.rate_limit_per_minute", in: 1...1_000_000_000)
            {
                config.api.rateLimitPerMinute = limit
            }
            if let value = api["channel_timeout_seconds"],
                let seconds = reader.int(value, at: "api.channel_timeout_seconds", in: 1...600)
            {
                config.api.channelTimeoutSeconds = seconds
            }
        }
        if let node = top["webhooks"],
            let webhooks = reader.mapping(node, at: "webhooks", allowed: ["initial_backoff_ms", "timeout_ms"])
        {
            if let value = webhooks["initial_backoff_ms"],
                let delay = reader.int(value, at: "webhooks.initial_backoff_ms", in: 1...600_000)
            {
                config.webhooks.initialBackoffMilliseconds = delay
            }
            if let value = webhooks["timeout_ms"], let timeout = reader.int(value, at: "webhooks.timeout_ms", in: 10...600_000) {
                config.webhooks.timeoutMilliseconds = timeout
            }
        }
        if let node = top["cluster"] { readCluster(node, into: &config.cluster, reader) }
        if let node = top["routes"] { config.routes = RouteParser(reader: reader).routes(node) }
        if let node = top["metrics"], let metrics = reader.mapping(node, at: "metrics", allowed: ["public"]) {
            if let value = metrics["public"], let flag = reader.bool(value, at: "metrics.public") {
                config.metrics.isPublic = flag
            }
        }
        if let node = top["logging"], let logging = reader.mapping(node, at: "logging", allowed: ["level"]) {
            if let value = logging["level"], let level = reader.text(value, at: "logging.level") {
                let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                if levels.contains(level) {
                    config.logging.level = level
                } else {
                    reader.report(value, "logging.level must be one of \(levels.joined(separator: ", ")), got \"\(level)\"")
                }
            }
        }
    }

    private static func readServer(_ node: Node, into server: inout ServerConfig, _ reader: YAMLReader) {
        guard let entries = reader.mapping(node, at: "server", allowed: ["host", "port", "cors_origin", "body_limit"])
        else { return }
        if let host = reader.optionalString(entries["host"], at: "server.host") { server.host = host }
        if let port = entries["port"], let value = reader.int(port, at: "server.port", in: 0...65535) { server.port = value }
        if let cors = entries["cors_origin"], let origins = reader.stringList(cors, at: "server.cors_origin"),
            !origins.isEmpty
        {
            server.corsOrigins = origins
        }
        if let limit = entries["body_limit"], let bytes = reader.byteSize(limit, at: "server.body_limit") {
            server.bodyLimit = bytes
        }
    }

    private static func readAuth(_ node: Node, into auth: inout AuthConfig, _ reader: YAMLReader) {
        guard let entries = reader.mapping(node, at: "auth", allowed: ["jwt", "remote"]) else { return }
        if let jwt = entries["jwt"],
            let keys = reader.mapping(jwt, at: "auth.jwt", allowed: ["secret", "public_key", "jwks_file", "issuer", "audience"])
        {
            auth.jwt.publicKeyFile = reader.optionalString(keys["public_key"], at: "auth.jwt.public_key")
            auth.jwt.jwksFile = reader.optionalString(keys["jwks_file"], at: "auth.jwt.jwks_file")
            for (key, path) in [("public_key", auth.jwt.publicKeyFile), ("jwks_file", auth.jwt.jwksFile)] {
                if let path, !FileManager.default.isReadableFile(atPath: path), let node = keys[key] {
                    reader.report(node, "auth.jwt.\(key): cannot read \"\(path)\"")
                }
            }
            auth.jwt.secret = reader.optionalString(keys["secret"], at: "auth.jwt.secret")
            // RFC 7518 §3.2: an HS256 key MUST be at least as long as the hash output.
            if let secret = auth.jwt.secret, secret.utf8.count < 32, let node = keys["secret"] {
                reader.report(node, "auth.jwt.secret must be at least 32 bytes for HS256 (RFC 7518 §3.2), got \(secret.utf8.count)")
                auth.jwt.secret = nil
            }
            auth.jwt.issuer = reader.optionalString(keys["issuer"], at: "auth.jwt.issuer")
            auth.jwt.audience = reader.optionalString(keys["audience"], at: "auth.jwt.audience")
        }
        if let remote = entries["remote"], let keys = reader.mapping(remote, at: "auth.remote", allowed: ["url", "cache_seconds"]) {
            auth.remoteURL = reader.optionalString(keys["url"], at: "auth.remote.url")
            if let value = keys["cache_seconds"], let seconds = reader.int(value, at: "auth.remote.cache_seconds", in: 0...3600) {
                auth.remoteCacheSeconds = seconds
            }
        }
    }

    private static func readStorage(_ node: Node, into storage: inout StorageConfig, _ reader: YAMLReader) {
        guard let entries = reader.mapping(node, at: "storage", allowed: ["sqlite", "postgres", "batch_size", "state_key"]) else {
            return
        }
        if let sqlite = entries["sqlite"], let keys = reader.mapping(sqlite, at: "storage.sqlite", allowed: ["path", "listing_cache_mb"]) {
            if let path = reader.optionalString(keys["path"], at: "storage.sqlite.path") { storage.backend = .sqlite(path: path) }
            if let node = keys["listing_cache_mb"], let size = reader.int(node, at: "storage.sqlite.listing_cache_mb", in: 0...4096) {
                storage.listingCacheMegabytes = size
            }
        }
        if let postgres = entries["postgres"], let keys = reader.mapping(postgres, at: "storage.postgres", allowed: ["url"]) {
            // An empty URL (DATABASE_URL unset) keeps the embedded SQLite store.
            if let url = reader.optionalString(keys["url"], at: "storage.postgres.url") { storage.backend = .postgres(url: url) }
        }
        if let batch = entries["batch_size"], let size = reader.int(batch, at: "storage.batch_size", in: 1...100_000) {
            storage.batchSize = size
        }
        if let value = entries["state_key"], let key = reader.optionalString(value, at: "storage.state_key") {
            if key.count < 16 {
                reader.report(value, "storage.state_key must be base64 of 32 bytes or a passphrase of at least 16 characters")
            } else {
                storage.stateKey = key
            }
        }
    }

    private static func readHub(_ node: Node, into hub: inout HubConfig, _ reader: YAMLReader) {
        let keys = [
            "max_connections_per_org", "redis", "ping_interval_ms", "ping_timeout_ms", "app_ping_interval_ms",
            "app_pong_timeout_ms", "events_per_minute", "max_payload", "recovery_window_seconds", "recovery_max_events",
        ]
        guard let entries = reader.mapping(node, at: "hub", allowed: keys) else { return }
        let numbers: [(String, ClosedRange<Int>, WritableKeyPath<HubConfig, Int>)] = [
            ("ping_interval_ms", 100...600_000, \.pingIntervalMilliseconds),
            ("ping_timeout_ms", 100...600_000, \.pingTimeoutMilliseconds),
            ("app_ping_interval_ms", 100...3_600_000, \.appPingIntervalMilliseconds),
            ("app_pong_timeout_ms", 100...3_600_000, \.appPongTimeoutMilliseconds),
            ("events_per_minute", 1...1_000_000, \.eventsPerMinute),
            ("recovery_window_seconds", 0...86_400, \.recoveryWindowSeconds),
            ("recovery_max_events", 0...10_000_000, \.recoveryMaxEvents),
        ]
        for (key, range, path) in numbers {
            if let value = entries[key], let number = reader.int(value, at: "hub.\(key)", in: range) { hub[keyPath: path] = number }
        }
        if let value = entries["max_payload"], let bytes = reader.byteSize(value, at: "hub.max_payload") { hub.maxPayload = bytes }
        if let cap = entries["max_connections_per_org"],
            let value = reader.int(cap, at: "hub.max_connections_per_org", in: 1...1_000_000)
        {
            hub.maxConnectionsPerOrg = value
        }
        if let redis = entries["redis"], let keys = reader.mapping(redis, at: "hub.redis", allowed: ["url"]) {
            hub.redisURL = reader.optionalString(keys["url"], at: "hub.redis.url")
            if let url = hub.redisURL {
                do throws(RedisError) { _ = try RedisURL(parsing: url) } catch { reader.report(keys["url"], "hub.redis.url: \(error)") }
            }
        }
    }

    private static func readPlugins(_ node: Node, _ reader: YAMLReader) -> [PluginConfig] {
        guard let items = reader.sequence(node, at: "plugins") else { return [] }
        var plugins: [PluginConfig] = []
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            let path = "plugins[\(index)]"
            guard let entries = reader.mapping(item, at: path, allowed: ["name", "path", "config", "enabled"]) else {
                continue
            }
            guard let name = reader.string(entries["name"], at: "\(path).name", parent: item),
                let file = reader.string(entries["path"], at: "\(path).path", parent: item)
            else { continue }
            if !seen.insert(name).inserted {
                reader.report(entries["name"], "\(path).name: plugin \"\(name)\" is declared twice")
            }
            var plugin = PluginConfig(
                name: name, path: file, location: "\(reader.file):\(item.mark?.line ?? 0):\(item.mark?.column ?? 0)")
            if let config = entries["config"] {
                if case .mapping = config {
                    plugin.config = reader.json(config, at: "\(path).config")
                } else {
                    reader.report(config, "\(path).config must be a mapping, got \(reader.kind(of: config))")
                }
            }
            if let enabled = entries["enabled"], let flag = reader.bool(enabled, at: "\(path).enabled") {
                plugin.enabled = flag
            }
            plugins.append(plugin)
        }
        return plugins
    }
}
