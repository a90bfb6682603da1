import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

@Suite struct ConfigTests {
    @Test func defaultConfigLoadsWithOriginalEnvironmentVariables() throws {
        let environment = [
            "PORT": "4100", "CORS_ORIGIN": "https://crm.example, https://admin.example", "JWT_SECRET": "s3cret-s3cret-s3cret-s3cret-s3cret",
            "MAX_CONNECTIONS_PER_ORG": "7", "REDIS_URL": "redis://127.0.0.1:6379", "AUTH_SERVICE_URL": "http://127.0.0.1:9/auth",
            "RABBITMQ_URL": "amqp://127.0.0.1",
        ]
        let config = try ConfigLoader.load(path: repositoryFile("gateway.yaml"), environment: environment)
        #expect(config.server.port == 4100)
        #expect(config.server.corsOrigins == ["https://crm.example", "https://admin.example"])
        #expect(config.auth.jwt.secret == "s3cret-s3cret-s3cret-s3cret-s3cret")
        #expect(config.auth.remoteURL == "http://127.0.0.1:9/auth")
        #expect(config.hub.maxConnectionsPerOrg == 7)
        #expect(config.hub.redisURL == "redis://127.0.0.1:6379")
        #expect(config.bus.rabbitmqURL == "amqp://127.0.0.1")
        #expect(config.storage.backend == .sqlite(path: "./data/gateway.sqlite"))
        #expect(config.plugins.map(\.name) == ["loopback", "c-echo", "telegram", "email"])
    }

    @Test func defaultsApplyWhenVariablesAreUnset() throws {
        let config = try ConfigLoader.load(path: repositoryFile("gateway.yaml"), environment: [:])
        #expect(config.server.port == 3000)
        #expect(config.server.corsOrigins == ["*"])
        #expect(config.auth.remoteURL == nil)
        #expect(config.hub.redisURL == nil)
        #expect(config.hub.maxConnectionsPerOrg == 100)
        #expect(config.server.bodyLimit == 1 << 20)
    }

    @Test func databaseURLSelectsPostgres() throws {
        let config = try ConfigLoader.load(
            path: repositoryFile("gateway.yaml"), environment: ["DATABASE_URL": "postgres://u@127.0.0.1/db"])
        #expect(config.storage.backend == .postgres(url: "postgres://u@127.0.0.1/db"))
    }

    @Test func stateKeyComesFromTheEnvironmentAndMustBeLongEnough() throws {
        let config = try ConfigLoader.load(path: repositoryFile("gateway.yaml"), environment: ["GATEWAY_STATE_KEY": "a passphrase of some length"])
        #expect(config.storage.stateKey == "a passphrase of some length")
        #expect(try ConfigLoader.load(path: repositoryFile("gateway.yaml"), environment: [:]).storage.stateKey == nil)
        let errors = try #require(throws: ConfigErrors.self) {
            try ConfigLoader.parse("storage:\n  state_key: short\n", file: "key.yaml", environment: [:])
        }
        #expect(errors.issues.map(\.description) == [
            "key.yaml:2:14: storage.state_key must be base64 of 32 bytes or a passphrase of at least 16 characters",
        ])
    }

    @Test func listingCacheSizeIsReadAndBounded() throws {
        #expect(try ConfigLoader.parse("version: 1\n", file: "c.yaml", environment: [:]).storage.listingCacheMegabytes == 32)
        let off = try ConfigLoader.parse("storage:\n  sqlite:\n    listing_cache_mb: 0\n", file: "c.yaml", environment: [:])
        #expect(off.storage.listingCacheMegabytes == 0)
        let errors = try #require(throws: ConfigErrors.self) {
            try ConfigLoader.parse("storage:\n  sqlite:\n    listing_cache_mb: -1\n", file: "c.yaml", environment: [:])
        }
        #expect(errors.issues.map(\.description).first?.contains("storage.sqlite.listing_cache_mb") == true)
    }

    @Test func reportsEveryMistakeWithLineAndColumn() throws {
        let yaml = """
            server:
              port: eighty
              colour: blue
            plugins:
              - name: loopback
            routes:
              - match: {direction: sideways}
                to: [store]
            """
        let errors = try #require(throws: ConfigErrors.self) {
            try ConfigLoader.parse(yaml, file: "bad.yaml", environment: [:])
        }
        let lines = errors.issues.map(\.description)
        #expect(lines.count == 4)
        #expect(lines[0] == "bad.yaml:2:9: server.port must be an integer from 0 to 65535, got \"eighty\"")
        #expect(lines[1].hasPrefix("bad.yaml:3:3: unknown key \"colour\" in server (expected one of: host, port"))
        #expect(lines[2] == "bad.yaml:5:5: plugins[0].path is required")
        #expect(lines[3].hasPrefix("bad.yaml:7:24: routes[0].match.direction: \"sideways\" is not one of inbound, outbound"))
    }

    @Test func environmentSubstitution() throws {
        #expect(try EnvironmentSubstitution.expand("${A}", environment: ["A": "1"]) == "1")
        #expect(try EnvironmentSubstitution.expand("x${A:-two}y", environment: [:]) == "xtwoy")
        #expect(try EnvironmentSubstitution.expand("${A:-two}", environment: ["A": ""]) == "two")
        #expect(try EnvironmentSubstitution.expand("${A}-${B:-}", environment: ["A": "a"]) == "a-")
        #expect(throws: EnvironmentSubstitution.Failure.unset("MISSING")) {
            try EnvironmentSubstitution.expand("${MISSING}", environment: [:])
        }
        #expect(throws: EnvironmentSubstitution.Failure.unterminated) {
            try EnvironmentSubstitution.expand("${OPEN", environment: [:])
        }
        let errors = try #require(throws: ConfigErrors.self) {
            try ConfigLoader.parse("auth:\n  jwt:\n    secret: ${NOPE}\n", file: "env.yaml", environment: [:])
        }
        #expect(errors.issues.first?.description.hasPrefix("env.yaml:3:13: auth.jwt.secret: environment variable NOPE is not set") == true)
    }

    @Test func shortJWTSecretsAreRefused() throws {
        let errors = try #require(throws: ConfigErrors.self) {
            try ConfigLoader.parse("auth:\n  jwt:\n    secret: ${JWT_SECRET}\n", file: "a.yaml", environment: ["JWT_SECRET": "short"])
        }
        #expect(errors.issues.map(\.description) == ["a.yaml:3:13: auth.jwt.secret must be at least 32 bytes for HS256 (RFC 7518 §3.2), got 5"])
    }

    @Test func syntaxErrorsHaveALocation() throws {
        let errors = try #require(throws: ConfigErrors.self) {
            try ConfigLoader.parse("server:\n  port: [1, 2\n", file: "broken.yaml", environment: [:])
        }
        #expect(errors.issues.count == 1)
        #expect(errors.issues[0].message.hasPrefix("YAML syntax error"))
        #expect(errors.issues[0].line >= 2)
    }

    @Test func routesParseEveryActionAndCondition() throws {
        let yaml = """
            routes:
              - name: vip
                match: {channel: [telegram, email], direction: inbound, kind: group, text: "(?i)urgent", metadata: [priority]}
                to: [store, hub, {webhook: {url: "https://crm.example/hook", secret: abc, retries: 3}}, {publish: crm.events}]
                continue: true
              - match: {event: MESSAGE_STATUS}
                to: drop
            """
        let config = try ConfigLoader.parse(yaml, file: "routes.yaml", environment: [:])
        #expect(config.routes.count == 2)
        let vip = config.routes[0]
        #expect(vip.name == "vip")
        #expect(vip.continueMatching)
        #expect(vip.match.channels == ["telegram", "email"])
        #expect(vip.match.directions == [.inbound])
        #expect(vip.match.kinds == [.group])
        #expect(vip.match.text?.source == "(?i)urgent")
        #expect(vip.match.metadataKeys == ["priority"])
        #expect(vip.actions == [.store, .hub, .webhook(url: "https://crm.example/hook", secret: "abc", retries: 3), .publish(topic: "crm.events")])
        #expect(config.routes[1].actions == [.drop])
        #expect(config.routes[1].match.events == [.messageStatus])
    }

    @Test func badRoutesAreReported() throws {
        let yaml = """
            routes:
              - match: {text: "(unclosed"}
                to: store
              - to: [teleport]
              - match: {}
              - to: {webhook: {url: "ftp://x"}}
            """
        let errors = try #require(throws: ConfigErrors.self) {
            try ConfigLoader.parse(yaml, file: "r.yaml", environment: [:])
        }
        let messages = errors.issues.map(\.message)
        #expect(messages.count == 4)
        #expect(messages[0].contains("not a valid regular expression"))
        #expect(messages[1].contains("unknown action \"teleport\""))
        #expect(messages[2].contains("routes[2].to is required"))
        #expect(messages[3].contains("must start with http:// or https://"))
    }

    @Test func pluginConfigBecomesJSON() throws {
        let yaml = """
            plugins:
              - name: loopback
                path: libLoopbackChannel.so
                config:
                  count: 3
                  label: "007"
                  flags: [true, null]
                  nested: {key: "${VALUE:-fallback}"}
            """
        let config = try ConfigLoader.parse(yaml, file: "p.yaml", environment: [:])
        let expected: JSONValue = ["count": 3, "label": "007", "flags": [true, nil], "nested": ["key": "fallback"]]
        #expect(config.plugins[0].config == expected)
    }
}

/// A file at the repository root (tests run from the package directory).
func repositoryFile(_ name: String) -> String {
    let here = URL(fileURLWithPath: #filePath)
    return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(name).path
}
