import Foundation
import GatewayABI
import GatewayModel
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Loads channel plugins with dlopen, checks them against the ABI, opens them with a host
/// table, routes requests to them and closes them on shutdown. A plugin that fails any check is
/// refused with one log line naming the file and the reason; the gateway keeps running.
public final class PluginHost: Sendable {
    public let pluginDirectory: String
    private let stateStore: any PluginStateStore
    let pipeline: IngestPipeline
    private let logger: Logger
    private let requestTimeout: Duration
    private let stateEncrypted: Bool
    private let hostOwnsAccounts: Bool
    private let loaded = Mutex<[LoadedPlugin]>([])
    private let statuses = Mutex<[PluginStatus]>([])

    public init(
        pluginDirectory: String, stateStore: any PluginStateStore, pipeline: IngestPipeline, logger: Logger,
        requestTimeout: Duration = .seconds(30), stateEncrypted: Bool = false, hostOwnsAccounts: Bool = false
    ) {
        self.stateEncrypted = stateEncrypted
        self.hostOwnsAccounts = hostOwnsAccounts
        self.pluginDirectory = pluginDirectory
        self.stateStore = stateStore
        self.pipeline = pipeline
        self.logger = logger
        self.requestTimeout = requestTimeout
    }

    /// The plugin's own config, plus what the host tells every plugin under the reserved key
    /// `gateway` (docs/PLUGIN_ABI.md): whether state_put values are encrypted at rest, and in a
    /// cluster `accountOwnership: "host"` (accounts are driven between `resume` and `release`).
    static func configForPlugin(_ config: JSONValue, stateEncrypted: Bool, hostOwnsAccounts: Bool = false) -> JSONValue {
        guard case .object(var fields) = config else { return config }
        var gateway: [String: JSONValue] = ["stateEncryption": .string(stateEncrypted ? "aes-256-gcm" : "none")]
        if hostOwnsAccounts { gateway["accountOwnership"] = .string("host") }
        fields["gateway"] = .object(gateway)
        return .object(fields)
    }

    /// The directory next to the running executable, where SwiftPM puts the plugin libraries.
    public static var defaultPluginDirectory: String {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().path
    }

    /// Load and open every enabled plugin, in order.
    public func load(_ configs: [PluginConfig]) async {
        for config in configs {
            let status = await onDedicatedThread { [self] in loadOne(config) }
            statuses.withLock { $0.append(status) }
        }
    }

    public var pluginStatuses: [PluginStatus] { statuses.withLock { $0 } }

    /// Platform names of the open plugins.
    public var platforms: [String] { loaded.withLock { $0.map(\.platform) } }

    public func capabilities(of platform: String) -> [String]? {
        loaded.withLock { $0.first { $0.platform == platform }?.capabilities }
    }

    /// Send a request (`{"op": ...}`) to the plugin of `platform` and wait for its reply.
    public func invoke(platform: String, request: Data) async throws(ChannelError) -> Data {
        guard let plugin = loaded.withLock({ $0.first { $0.platform == platform } }), !plugin.isClosed else {
            throw ChannelError(code: "no_channel", message: "no plugin for platform \"\(platform)\" is loaded")
        }
        let timeout = requestTimeout
        let token = Mutex<UInt>(0)
        let timer = Task {
            try await Task.sleep(for: timeout)
            PendingReplies.complete(token.withLock { $0 }, with: .failure(ChannelError(
                code: "channel_timeout", message: "\(platform) did not answer within \(timeout)")))
        }
        let result = await withCheckedContinuation { continuation in
            let registered = PendingReplies.register(continuation)
            token.withLock { $0 = registered }
            plugin.invoke(request, token: registered)
        }
        timer.cancel()
        return try result.get()
    }

    /// Encode a request value and decode the reply as `T`.
    public func invoke<Request: Encodable, Reply: Decodable>(
        platform: String, op: String, _ request: Request, as: Reply.Type
    ) async throws(ChannelError) -> Reply {
        let body: Data
        do {
            body = try RequestEnvelope.encode(op: op, request)
        } catch {
            throw ChannelError(code: "bad_request", message: "cannot encode \(op) request: \(error)")
        }
        let reply = try await invoke(platform: platform, request: body)
        do {
            return try JSONDecoder().decode(Reply.self, from: reply)
        } catch {
            throw ChannelError(code: "bad_reply", message: "\(platform) answered \(op) with an unexpected reply: \(error)")
        }
    }

    /// Close every plugin (in reverse load order); each close waits for its outstanding replies.
    public func closeAll() async {
        let plugins = loaded.withLock { Array($0.reversed()) }
        for plugin in plugins {
            await onDedicatedThread { plugin.close() }
            logger.info("plugin \(plugin.name) closed")
            statuses.withLock { statuses in
                if let index = statuses.firstIndex(where: { $0.name == plugin.name }) { statuses[index].state = .closed }
            }
        }
    }

    private func loadOne(_ config: PluginConfig) -> PluginStatus {
        let path = config.path.hasPrefix("/") ? config.path : (pluginDirectory as NSString).appendingPathComponent(config.path)
        var status = PluginStatus(name: config.name, path: path, state: .refused)
        guard config.enabled else {
            status.state = .disabled
            logger.info("plugin \(config.name) (\(path)) is disabled in the config")
            return status
        }
        func refuse(_ reason: String) -> PluginStatus {
            logger.error("plugin \(config.name) refused: \(path): \(reason)")
            status.reason = reason
            return status
        }
        guard FileManager.default.fileExists(atPath: path) else { return refuse("file not found") }
        // RTLD_LOCAL: each plugin keeps its own copies of statically linked libraries (NIO, …).
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            return refuse("dlopen failed: \(dlerror().map { String(cString: $0) } ?? "unknown error")")
        }
        guard let symbol = dlsym(handle, GW_CHANNEL_ENTRY_SYMBOL) else {
            return refuse("missing symbol \(GW_CHANNEL_ENTRY_SYMBOL)")
        }
        let entry = unsafeBitCast(symbol, to: gw_channel_entry_fn.self)
        guard let descriptor = entry() else { return refuse("\(GW_CHANNEL_ENTRY_SYMBOL)() returned NULL") }
        let channel = descriptor.pointee
        guard channel.abi_major == GW_ABI_MAJOR else {
            return refuse("ABI major \(channel.abi_major) (plugin ABI \(channel.abi_major).\(channel.abi_minor)), this gateway speaks \(GW_ABI_MAJOR).\(GW_ABI_MINOR)")
        }
        guard channel.struct_size >= MemoryLayout<gw_channel>.size else {
            return refuse("descriptor struct_size \(channel.struct_size) is smaller than the \(MemoryLayout<gw_channel>.size) bytes ABI \(GW_ABI_MAJOR).\(GW_ABI_MINOR) needs")
        }
        guard let namePointer = channel.name, channel.open != nil, channel.invoke != nil, channel.close != nil else {
            return refuse("descriptor lacks a name or one of open/invoke/close")
        }
        let platform = String(cString: namePointer)
        let version = channel.version.map { String(cString: $0) } ?? "unknown"
        let capabilities = channel.capabilities.flatMap {
            try? JSONDecoder().decode([String].self, from: Data(String(cString: $0).utf8))
        } ?? []
        status.platform = platform
        status.version = version
        status.abi = "\(channel.abi_major).\(channel.abi_minor)"
        status.capabilities = capabilities
        if loaded.withLock({ $0.contains { $0.platform == platform } }) {
            return refuse("another loaded plugin already serves platform \"\(platform)\"")
        }

        var pluginLogger = logger
        pluginLogger[metadataKey: "plugin"] = .string(config.name)
        let context = PluginContext(name: config.name, platform: platform, logger: pluginLogger, state: stateStore, pipeline: pipeline)
        let hostTable = UnsafeMutablePointer<gw_host>.allocate(capacity: 1)
        hostTable.initialize(to: HostTable.make(context: context))
        let configJSON = (try? JSONEncoder().encode(Self.configForPlugin(config.config, stateEncrypted: stateEncrypted, hostOwnsAccounts: hostOwnsAccounts))) ?? Data("{}".utf8)
        var instance: UnsafeMutableRawPointer?
        var errorBuffer = [CChar](repeating: 0, count: 1024)
        let opened = configJSON.withUnsafeBytes { bytes in
            channel.open(
                hostTable, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, &instance, &errorBuffer,
                errorBuffer.count)
        }
        guard opened == GW_OK else {
            // The table stays allocated: a misbehaving plugin may still hold it.
            let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return refuse("open() failed: \(reason.isEmpty ? "no reason given" : reason)")
        }
        let plugin = LoadedPlugin(
            name: config.name, platform: platform, capabilities: capabilities, context: context,
            descriptor: descriptor, instance: instance, hostTable: hostTable)
        loaded.withLock { $0.append(plugin) }
        status.state = .loaded
        logger.info("plugin \(config.name) loaded: \(platform) \(version), ABI \(status.abi ?? "?"), from \(path)")
        return status
    }
}

/// Runs blocking plugin calls (open, close) on a thread of their own, off the cooperative pool.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}

/// `{"op": op, ...fields of request}`.
enum RequestEnvelope {
    static func encode<Request: Encodable>(op: String, _ request: Request) throws -> Data {
        let fields = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(request))
        guard case .object(var object) = fields else {
            throw ChannelError.badRequest("request must encode to an object")
        }
        object["op"] = .string(op)
        return try JSONEncoder().encode(JSONValue.object(object))
    }
}
