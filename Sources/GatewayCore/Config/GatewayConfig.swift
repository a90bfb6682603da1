import GatewayModel

/// The typed form of gateway.yaml (docs/CONFIG.md documents every key).
public struct GatewayConfig: Sendable {
    public var server = ServerConfig()
    public var auth = AuthConfig()
    public var storage = StorageConfig()
    public var hub = HubConfig()
    public var bus = BusConfig()
    public var plugins: [PluginConfig] = []
    public var routes: [Route] = []
    public var metrics = MetricsConfig()
    public var logging = LoggingConfig()
    public var api = APIConfig()
    public var webhooks = WebhooksConfig()
    public var cluster = ClusterConfig()

    public init() {}
}

public struct ServerConfig: Sendable {
    public var host = "0.0.0.0"
    public var port = 3000
    /// Allowed CORS origins; ["*"] allows any.
    public var corsOrigins: [String] = ["*"]
    /// Largest accepted request body, in bytes.
    public var bodyLimit = 1 << 20
}

public struct AuthConfig: Sendable {
    public var jwt = JWTConfig()
    /// The original AUTH_SERVICE_URL design: a service that verifies tokens.
    public var remoteURL: String?
    /// How long a positive answer of the remote service is reused.
    public var remoteCacheSeconds = 30
}

public struct JWTConfig: Sendable {
    /// HS256 secret.
    public var secret: String?
    /// PEM file with an RSA or EC public key (RS256/ES256 tokens).
    public var publicKeyFile: String?
    /// JWKS file (a key set, e.g. exported from an identity provider).
    public var jwksFile: String?
    public var issuer: String?
    public var audience: String?
}

public struct APIConfig: Sendable {
    /// Requests per minute per token.
    public var rateLimitPerMinute = 600
    /// How long the API waits for a plugin's answer.
    public var channelTimeoutSeconds = 30
}

public struct WebhooksConfig: Sendable {
    /// Delay before the second attempt; doubles with every further attempt.
    public var initialBackoffMilliseconds = 1000
    public var timeoutMilliseconds = 10_000
}

public struct StorageConfig: Sendable {
    public enum Backend: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)
    }
    public var backend: Backend = .sqlite(path: "./data/gateway.sqlite")
    /// SQLite: the most JSON the chats and the messages listings each keep of unchanged rows
    /// (`RowJSONCache`); 0 turns the caches off.
    public var listingCacheMegabytes = 32
    /// Most events written in one transaction.
    public var batchSize = 8192
    /// Key encrypting plugin state at rest (AES-256-GCM): base64 of 32 bytes or a passphrase of
    /// 16+ characters. Without it plugin state is stored as plaintext, and plugins are told so.
    public var stateKey: String?
}

public struct HubConfig: Sendable {
    public var maxConnectionsPerOrg = 100
    public var redisURL: String?
    /// Engine.IO heartbeat: the server pings this often and waits this long for the pong.
    public var pingIntervalMilliseconds = 25_000
    public var pingTimeoutMilliseconds = 20_000
    /// Application heartbeat of the original service: a `ping` event, answered by a `pong` event.
    public var appPingIntervalMilliseconds = 30_000
    public var appPongTimeoutMilliseconds = 60_000
    /// Client events per minute per connection; past twice this the connection is closed.
    public var eventsPerMinute = 100
    /// Largest Engine.IO payload (polling body or WebSocket message), in bytes.
    public var maxPayload = 1_000_000
    /// Missed-event recovery: how long and how many events per organization are kept.
    public var recoveryWindowSeconds = 120
    public var recoveryMaxEvents = 10_000
}

public struct BusConfig: Sendable {
    /// RabbitMQ for downstream consumers (`amqp://user:password@host:port/vhost`): events that
    /// routes `publish` go through the store's outbox to a durable topic exchange.
    public var rabbitmqURL: String?
    /// The topic exchange events are published to (declared durable at connect).
    public var rabbitmqExchange = "channel-gateway.events"
}

public struct PluginConfig: Sendable {
    public var name: String
    /// Absolute, or relative to the plugin directory.
    public var path: String
    public var config: JSONValue = .object([:])
    public var enabled = true
    /// Where the entry was declared, for log lines.
    public var location: String

    public init(name: String, path: String, config: JSONValue = .object([:]), enabled: Bool = true, location: String) {
        self.name = name
        self.path = path
        self.config = config
        self.enabled = enabled
        self.location = location
    }
}

public struct MetricsConfig: Sendable {
    /// When false, /metrics needs a valid token.
    public var isPublic = true
}

public struct LoggingConfig: Sendable {
    public var level = "info"
}
