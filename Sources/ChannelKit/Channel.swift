@_exported import GatewayModel

/// A channel plugin written in Swift. Conform a type, then export it with one line:
///
///     @_cdecl("gw_channel_entry") public func gwChannelEntry() -> UnsafeRawPointer {
///         ChannelExport.descriptor(for: MyChannel.self)
///     }
///
/// ChannelKit does the C glue: it decodes requests, runs `handle` concurrently, replies exactly
/// once (an error thrown becomes an error reply), and on close waits for every outstanding request.
public protocol Channel: AnyObject, Sendable {
    /// Platform name, e.g. "telegram"; accounts with `platform` equal to it are routed here.
    static var name: String { get }
    static var version: String { get }
    /// The request operations (`op`) this channel supports, advertised as its capabilities.
    static var operations: [String] { get }

    /// Create the instance from its gateway.yaml `config` mapping. Keep it quick: start long work
    /// (connections, threads) in `start()`.
    init(host: ChannelHost, config: JSONValue) throws

    /// Called once after `init`, on a task of its own; reconnect saved accounts here.
    func start() async

    /// Answer one request. Throw `ChannelError` for failures the caller should see as such.
    func handle(_ request: ChannelRequest) async throws -> any Encodable & Sendable

    /// Stop everything; after it returns the channel makes no more host calls.
    func shutdown() async
}

extension Channel {
    public func start() async {}
}
