import Foundation
import Yams

/// `cluster:` — account ownership across gateway instances (docs/CONFIG.md). Only used in
/// cluster mode: the PostgreSQL store shared by instances that also share a hub through Redis.
public struct ClusterConfig: Sendable {
    /// This instance's name in the lease table; default hostname-pid-random.
    public var instanceId: String?
    /// The URL other instances forward API calls to; default from server.host and server.port.
    public var advertiseURL: String?
    /// How long an account lease lasts without renewal; renewed every third of it.
    public var leaseSeconds = 15
}

extension ConfigLoader {
    static func readCluster(_ node: Node, into cluster: inout ClusterConfig, _ reader: YAMLReader) {
        guard let entries = reader.mapping(node, at: "cluster", allowed: ["instance_id", "advertise_url", "lease_seconds"]) else {
            return
        }
        if let id = reader.optionalString(entries["instance_id"], at: "cluster.instance_id") {
            if id.utf8.count > 200 || id.contains(where: { $0.isWhitespace }) {
                reader.report(entries["instance_id"], "cluster.instance_id must be at most 200 characters without spaces")
            } else {
                cluster.instanceId = id
            }
        }
        if let text = reader.optionalString(entries["advertise_url"], at: "cluster.advertise_url") {
            if let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil {
                cluster.advertiseURL = text.hasSuffix("/") ? String(text.dropLast()) : text
            } else {
                reader.report(entries["advertise_url"], "cluster.advertise_url must be an http:// or https:// URL with a host, got \"\(text)\"")
            }
        }
        if let value = entries["lease_seconds"], let seconds = reader.int(value, at: "cluster.lease_seconds", in: 3...3600) {
            cluster.leaseSeconds = seconds
        }
    }
}
