import Foundation

/// This instance as the other instances see it: its id in the lease table and the URL they
/// forward API calls to.
public struct ClusterIdentity: Sendable, Equatable {
    public var instanceId: String
    public var advertiseURL: String

    public init(instanceId: String, advertiseURL: String) {
        self.instanceId = instanceId
        self.advertiseURL = advertiseURL
    }

    /// From `cluster.instance_id` / `cluster.advertise_url`, else hostname-pid-random and
    /// http://<server.host>:<server.port> (the hostname when listening on every interface).
    public init(config: GatewayConfig) {
        let hostname = ProcessInfo.processInfo.hostName
        instanceId = config.cluster.instanceId
            ?? "\(hostname)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        if let url = config.cluster.advertiseURL {
            advertiseURL = url
        } else {
            let host = config.server.host
            let reachable = host == "0.0.0.0" || host == "::" || host.isEmpty ? hostname : host
            let bracketed = reachable.contains(":") ? "[\(reachable)]" : reachable
            advertiseURL = "http://\(bracketed):\(config.server.port)"
        }
    }
}
