import ArgumentParser
import Foundation
import GatewayCore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the store's schema, then exit.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        switch config.storage.backend {
        case .sqlite(let path):
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            print("\(path): schema version \(try store.schemaVersion)")
        case .postgres(let url):
            let logger = makeLogger(level: config.logging.level)
            let store: any GatewayStore & PluginStateStore
            do {
                store = try await Gateway.openStore(config.storage.backend, logger: logger)
            } catch {
                FileHandle.standardError.write(Data("gateway migrate: \(error)\n".utf8))
                throw ExitCode(1)
            }
            let version = try await (store as? PostgresStore)?.schemaVersion() ?? 0
            await store.close()
            let target = (try? PostgresSettings(url: url).redacted) ?? "PostgreSQL"
            print("\(target): schema version \(version)")
        }
    }
}
