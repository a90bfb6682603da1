import Foundation
import Testing

@testable import GatewayCore

/// The `gateway` executable's commands, run as a user would.
@Suite struct CommandLineTests {
    @Test func checkConfigReportsAllThreeMistakes() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("three.yaml", """
            server:
              port: 99999
            storage:
              sqlite: {path: ./x.sqlite, mode: fast}
            routes:
              - match: {channel: telegram}
                to: [store, archive]
            """)
        let result = try run(BuildProducts.gateway, ["check-config", path])
        #expect(result.status != 0)
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(path):2:9: server.port must be an integer from 0 to 65535, got \"99999\""))
        #expect(lines.contains { $0.hasPrefix("\(path):4:30: unknown key \"mode\" in storage.sqlite") })
        #expect(lines.contains { $0.hasPrefix("\(path):7:17: routes[0].to[1]: unknown action \"archive\"") })
        #expect(lines.last == "3 problems found")
    }

    @Test func checkConfigAcceptsTheDefaultConfig() throws {
        let result = try run(BuildProducts.gateway, ["check-config", repositoryFile("gateway.yaml")])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("OK (4 plugins, 1 routes)"))
    }

    @Test func pluginsCommandLoadsEachPlugin() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("plugins.yaml", """
            plugins:
              - {name: loopback, path: libLoopbackChannel.so}
              - {name: c-echo, path: libCEchoChannel.so}
              - {name: ghost, path: libGhost.so}
            """)
        let result = try run(BuildProducts.gateway, ["plugins", "--config", path])
        #expect(result.status == 1, "a refused plugin makes the command fail")
        #expect(result.output.contains("loopback: loaded — loopback 1.0.0, ABI 1.0"))
        #expect(result.output.contains("c-echo: loaded — c-echo 1.0.0, ABI 1.0, ops: connect, status, send, echo"))
        #expect(result.output.contains("ghost: REFUSED — file not found"))
    }

    @Test func tokenMintsAVerifiableJWT() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("token.yaml", "auth:\n  jwt:\n    secret: test-secret-that-is-long-enough-32\n")
        let result = try run(BuildProducts.gateway, ["token", "--config", path, "--org", "org-9", "--user", "u-1", "--role", "agent"])
        #expect(result.status == 0, "\(result.output)")
        let parts = result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".")
        #expect(parts.count == 3)
        var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let claims = try JSONSerialization.jsonObject(with: Data(base64Encoded: payload) ?? Data()) as? [String: Any]
        #expect(claims?["organizationId"] as? String == "org-9")
        #expect(claims?["sub"] as? String == "u-1")
        #expect(claims?["role"] as? String == "agent")
    }

    @Test func migrateCreatesTheSchema() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("m.yaml", "storage:\n  sqlite: {path: \(directory.file("db/m.sqlite"))}\n")
        let result = try run(BuildProducts.gateway, ["migrate", "--config", path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("schema version \(SQLiteSchema.migrations.count)"))
    }

    @Test func serveAnswersHealthAndMetricsAndStopsOnSigterm() async throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("serve.yaml", """
            storage:
              sqlite: {path: \(directory.file("s.sqlite"))}
            plugins:
              - {name: loopback, path: libLoopbackChannel.so}
              - {name: c-echo, path: libCEchoChannel.so}
            """)
        let gateway = try GatewayProcess(config: config, port: try freePort(), logPath: directory.file("serve.log"))
        var health: HealthReport?
        _ = try await eventually { health = try await gateway.health(); return health != nil }
        #expect(health?.status == "ok")
        #expect(health?.plugins.map(\.state) == [.loaded, .loaded])
        let metrics = try await gateway.get("/metrics")
        #expect(metrics.status == 200)
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("gateway_messages_stored_total"))
        gateway.kill(signal: SIGTERM)
        #expect(gateway.process.terminationStatus == 0)
        #expect(gateway.log.contains("store flushed"))
    }
}
