import ArgumentParser
import Foundation
import GatewayCore
import Logging

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the plugins the config would load, and whether each loads.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Directory holding plugin libraries named by relative paths.")
    var pluginDir: String?

    func run() async throws {
        var config = try options.load()
        let logger = makeLogger(level: "critical")
        // Load into a throwaway store so plugin state of the real one is untouched.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-plugins-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        config.storage.backend = .sqlite(path: scratch.appendingPathComponent("probe.sqlite").path)
        let gateway = try await Gateway(config: config, pluginDirectory: pluginDir, logger: logger)
        async let ingest: Void = gateway.pipeline.run()
        await gateway.plugins.load(config.plugins)
        var failed = false
        for status in gateway.plugins.pluginStatuses {
            switch status.state {
            case .loaded:
                let capabilities = status.capabilities?.joined(separator: ", ") ?? ""
                print("\(status.name): loaded — \(status.platform ?? "?") \(status.version ?? "?"), ABI \(status.abi ?? "?"), ops: \(capabilities) (\(status.path))")
            case .disabled:
                print("\(status.name): disabled (\(status.path))")
            case .refused, .closed:
                failed = true
                print("\(status.name): REFUSED — \(status.reason ?? "unknown reason") (\(status.path))")
            }
        }
        await gateway.plugins.closeAll()
        gateway.pipeline.finish()
        await ingest
        if failed { throw ExitCode(1) }
    }
}
