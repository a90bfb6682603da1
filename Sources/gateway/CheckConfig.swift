import ArgumentParser
import Foundation
import GatewayCore

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file; print every problem as file:line:column and exit non-zero.")

    @Argument(help: "The config file.")
    var path = "gateway.yaml"

    func run() throws {
        do {
            let config = try ConfigLoader.load(path: path)
            print("\(path): OK (\(config.plugins.count) plugins, \(config.routes.count) routes)")
        } catch let errors as ConfigErrors {
            for issue in errors.issues { print(issue.description) }
            print("\(errors.issues.count) problem\(errors.issues.count == 1 ? "" : "s") found")
            throw ExitCode(1)
        }
    }
}
