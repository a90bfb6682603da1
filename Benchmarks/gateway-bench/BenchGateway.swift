import Foundation
import GatewayCore
import GatewayModel
import Logging

/// The gateway both benchmarks drive: a fresh SQLite file in `directory`, the loopback plugin,
/// and one connected account `acc` of organization `org`.
func startBenchGateway(
    in directory: URL, pluginDirectory: String, adjust: (inout GatewayConfig) throws -> Void = { _ in }
) async throws -> Gateway {
    var config = GatewayConfig()
    config.storage.backend = .sqlite(path: directory.appendingPathComponent("bench.sqlite").path)
    config.plugins = [PluginConfig(name: "loopback", path: "libLoopbackChannel.so", location: "bench")]
    try adjust(&config)
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let gateway = try await Gateway(config: config, pluginDirectory: pluginDirectory, logger: logger)
    await gateway.start()
    gateway.pipeline.submit(
        .accountStatus(AccountStatusUpdate(accountId: "acc", status: .connected, organizationId: "org")), channel: "loopback")
    return gateway
}

/// Has the loopback plugin emit `count` inbound messages (external ids m<start>…) over `chats` chats.
func emitLoopback(_ gateway: Gateway, start: Int, count: Int, chats: Int) async throws {
    var next = start
    while next < start + count {
        let slice = min(100_000, start + count - next)
        let request: JSONValue = [
            "op": "emit", "accountId": "acc", "count": .number(Double(slice)), "chats": .number(Double(chats)),
            "start": .number(Double(next)),
        ]
        _ = try await gateway.plugins.invoke(platform: "loopback", request: JSONEncoder().encode(request))
        next += slice
    }
}
