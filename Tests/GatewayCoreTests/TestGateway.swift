import Foundation
import GatewayModel

@testable import GatewayCore

/// An in-process gateway on a temporary SQLite file, with the real plugin host.
final class TestGateway: @unchecked Sendable {
    let directory: TemporaryDirectory
    let gateway: Gateway

    init(plugins: [PluginConfig], routes: [Route] = [], directory: TemporaryDirectory? = nil) async throws {
        self.directory = try directory ?? TemporaryDirectory()
        var config = GatewayConfig()
        config.storage.backend = .sqlite(path: self.directory.file("gateway.sqlite"))
        config.plugins = plugins
        config.routes = routes
        gateway = try await Gateway(config: config, logger: testLogger)
        await gateway.start()
    }

    static func plugin(_ name: String, _ file: String, config: JSONValue = [:]) -> PluginConfig {
        PluginConfig(name: name, path: file, config: config, location: "test")
    }

    static let loopback = plugin("loopback", "libLoopbackChannel.so")
    static let cEcho = plugin("c-echo", "libCEchoChannel.so")

    func invoke(_ platform: String, _ request: JSONValue) async throws(ChannelError) -> JSONValue {
        let body = try! JSONEncoder().encode(request)
        let reply = try await gateway.plugins.invoke(platform: platform, request: body)
        return try! JSONDecoder().decode(JSONValue.self, from: reply)
    }

    func stats() async throws -> StoreStats {
        await gateway.pipeline.flush()
        return try await gateway.store.stats()
    }

    func status(of name: String) -> PluginStatus? {
        gateway.plugins.pluginStatuses.first { $0.name == name }
    }

    func stop() async {
        await gateway.stop()
    }
}
