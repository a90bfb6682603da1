/// What /health and `gateway plugins` say about one configured plugin.
public struct PluginStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        case loaded, refused, disabled, closed
    }

    /// The name in gateway.yaml.
    public var name: String
    public var path: String
    public var state: State
    /// Platform (channel) name from the plugin's descriptor.
    public var platform: String?
    public var version: String?
    public var abi: String?
    public var capabilities: [String]?
    /// Why the plugin was refused.
    public var reason: String?
}
