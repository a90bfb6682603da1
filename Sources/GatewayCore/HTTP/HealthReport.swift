import Foundation
import Hummingbird

/// The body of GET /health.
public struct HealthReport: ResponseEncodable, Codable, Sendable {
    public var status: String
    public var version: String
    public var uptimeSeconds: Double
    public var plugins: [PluginStatus]
    public var store: StoreHealth
    public var pipeline: PipelineHealth
    public var hub: HubHealth
    /// `bus.rabbitmq.url`: the broker connection, the outbox backlog and publish counters.
    public var rabbitmq: RabbitMQHealth? = nil

    public struct HubHealth: Codable, Sendable {
        /// Engine.IO sessions open now.
        public var connections: Int
        /// Authenticated Socket.IO connections per organization.
        public var connectionsPerOrganization: [String: Int]
        /// Cluster mode (`hub.redis.url`): this instance, Redis, and the counts of all instances.
        public var cluster: ClusterHealth? = nil
    }

    public struct StoreHealth: Codable, Sendable {
        public var status: String
        public var backend: String
        public var messages: Int?
        public var chats: Int?
        public var accounts: Int?
        public var error: String?
    }

    public struct PipelineHealth: Codable, Sendable {
        public var backlog: Int
        public var droppedBusEvents: Int
    }
}
