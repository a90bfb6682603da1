import ArgumentParser
import Foundation
import GatewayCore
import Hummingbird
import Metrics
import Prometheus

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the default command).")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Listen on this port instead of server.port.")
    var port: Int?

    @Option(help: "Directory holding plugin libraries named by relative paths (default: next to the executable).")
    var pluginDir: String?

    func run() async throws {
        MallocTuning.keepFreedMemory()
        var config = try options.load()
        if let port { config.server.port = port }
        let logger = makeLogger(level: config.logging.level)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let gateway: Gateway
        do {
            gateway = try await Gateway(config: config, pluginDirectory: pluginDir, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let host = config.server.host
        let app = gateway.application(metrics: registry) { port in
            logger.info("listening on \(host):\(port)")
        }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
