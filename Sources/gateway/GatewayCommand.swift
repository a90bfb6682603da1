import ArgumentParser
import Foundation
import GatewayCore
import Logging

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "ChannelGateway: one REST API and real-time hub in front of channel plugins.",
        version: Gateway.version,
        subcommands: [Serve.self, CheckConfig.self, Plugins.self, Token.self, Migrate.self, Telegram.self],
        defaultSubcommand: Serve.self)
}

/// Options shared by the commands that read gateway.yaml.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path to the config file.")
    var config = "gateway.yaml"

    func load() throws -> GatewayConfig {
        do {
            return try ConfigLoader.load(path: config)
        } catch let errors as ConfigErrors {
            FileHandle.standardError.write(Data((errors.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}

func makeLogger(level: String) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logger.Level(rawValue: level) ?? .info
        return handler
    }
    return Logger(label: "gateway")
}
