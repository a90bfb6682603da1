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
        case .postgres:
            throw ValidationError("the PostgreSQL store is not part of this build")
        }
    }
}
