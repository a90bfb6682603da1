import GatewayModel

/// A system event as the cluster hands it to every instance: its routing facts, its
/// cluster-wide offset, and its JSON (`{id,type,organizationId,timestamp,data}`, no offset).
struct ClusterEvent: Sendable, Equatable {
    var organizationId: String
    var accountId: String
    var chatId: String?
    var offset: Int
    var json: [UInt8]
}

/// Cluster state for /health.
public struct ClusterHealth: Codable, Sendable, Equatable {
    /// This instance's id in the cluster.
    public var instance: String
    /// `connected` or `unreachable`.
    public var redis: String
    /// Authenticated connections per organization on all live instances (nil while Redis is unreachable).
    public var connectionsPerOrganization: [String: Int]?
}

/// What the hub asks of a cluster backplane (`RedisHubBackplane`). The hub stays the only owner
/// of sockets and rooms; the backplane carries events between instances, keeps the recoverable
/// history and the cluster-wide connection counts.
protocol HubBackplane: Sendable {
    /// Starts carrying events: every published event (this instance's too) comes back through
    /// `sink.deliver`, in the cluster's order.
    func start(sink: any HubClusterSink)
    func stop() async
    /// Hands events to the cluster. Events that cannot reach it go to `sink.deliverLocally`.
    func publish(_ events: [GatewayEvent])
    /// Whether this instance may hold `sink.localConnectionCount(organization)` connections of
    /// the organization (the new one included) with the other live instances' ones, within `cap`.
    /// Throws when the cluster cannot be asked.
    func admit(organization: String, cap: Int) async throws -> Bool
    /// This instance's count of the organization's connections changed (a connection ended).
    func connectionCountChanged(organization: String)
    /// The organization's events after `offset`, in order — nil when some of them are no longer
    /// kept (too old, too many, or an offset the cluster never issued).
    func recover(organization: String, after offset: Int, windowSeconds: Int, limit: Int) async throws -> [ClusterEvent]?
    func health() async -> ClusterHealth
}

/// The hub as seen by its backplane.
protocol HubClusterSink: AnyObject, Sendable {
    /// Events from the cluster, in order, to this instance's sockets.
    func deliver(_ events: [ClusterEvent])
    /// Events the cluster could not take (Redis down): delivered to this instance's sockets only.
    func deliverLocally(_ events: [GatewayEvent])
    /// This instance's authenticated connections of an organization.
    func localConnectionCount(organization: String) -> Int
    /// This instance's authenticated connections per organization.
    func localConnectionCounts() -> [String: Int]
}
