import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// Loads real plugins through dlopen: the two examples, and broken ones compiled here with cc.
@Suite struct PluginHostTests {
    @Test func loadsTheCAndTheSwiftPlugin() async throws {
        let gateway = try await TestGateway(plugins: [TestGateway.loopback, TestGateway.cEcho])
        let loopback = try #require(gateway.status(of: "loopback"))
        #expect(loopback.state == .loaded)
        #expect(loopback.platform == "loopback")
        #expect(loopback.abi == "1.0")
        #expect(loopback.capabilities?.contains("send") == true)
        let echo = try #require(gateway.status(of: "c-echo"))
        #expect(echo.state == .loaded)
        #expect(echo.capabilities == ["connect", "status", "send", "echo"])
        #expect(gateway.gateway.plugins.platforms == ["loopback", "c-echo"])
        await gateway.stop()
        #expect(gateway.status(of: "loopback")?.state == .closed)
    }

    @Test func refusesBrokenPluginsAndKeepsServing() async throws {
        let directory = try TemporaryDirectory()
        let noSymbol = try compilePlugin(in: directory, named: "nosymbol", source: "int something_else(void) { return 1; }")
        let wrongMajor = try compilePlugin(in: directory, named: "major2", source: descriptorSource(major: "2"))
        let tooSmall = try compilePlugin(in: directory, named: "small", source: descriptorSource(structSize: "sizeof(size_t)"))
        let openFails = try compilePlugin(in: directory, named: "openfails", source: descriptorSource(openSucceeds: false))
        let plugins = [
            TestGateway.plugin("missing", directory.file("libnothere.so")),
            TestGateway.plugin("nosymbol", noSymbol),
            TestGateway.plugin("major2", wrongMajor),
            TestGateway.plugin("small", tooSmall),
            TestGateway.plugin("openfails", openFails),
            TestGateway.loopback,
        ]
        let gateway = try await TestGateway(plugins: plugins, directory: directory)
        func reason(_ name: String) -> String? {
            let status = gateway.status(of: name)
            return status?.state == .refused ? status?.reason : nil
        }
        #expect(reason("missing") == "file not found")
        #expect(reason("nosymbol") == "missing symbol gw_channel_entry")
        #expect(reason("major2")?.hasPrefix("ABI major 2") == true)
        #expect(reason("small")?.contains("struct_size 8 is smaller") == true)
        #expect(reason("openfails") == "open() failed: no database configured")
        #expect(gateway.status(of: "loopback")?.state == .loaded)
        let health = await gateway.gateway.health()
        #expect(health.status == "degraded")
        await gateway.stop()
    }

    @Test func cPluginRepliesEmitsAndKeepsStateAcrossRestarts() async throws {
        let directory = try TemporaryDirectory()
        var gateway = try await TestGateway(plugins: [TestGateway.cEcho], directory: directory)
        try await createAccount(gateway, id: "acc-c", platform: "c-echo")
        let echo = try await gateway.invoke("c-echo", ["op": "echo", "value": 1])
        #expect(echo == ["op": "echo", "value": 1])
        let sent = try await gateway.invoke(
            "c-echo", ["op": "send", "accountId": "acc-c", "chatId": "room", "text": "hello", "idempotencyKey": "k1"])
        #expect(sent["externalId"] == "c1")
        #expect(try await gateway.stats().messages == 1)
        await gateway.stop()

        gateway = try await TestGateway(plugins: [TestGateway.cEcho], directory: directory)
        let again = try await gateway.invoke(
            "c-echo", ["op": "send", "accountId": "acc-c", "chatId": "room", "text": "again", "idempotencyKey": "k2"])
        #expect(again["externalId"] == "c2", "the counter lives in durable plugin state")
        #expect(try await gateway.stats().messages == 2)
        await #expect(throws: ChannelError.self) {
            try await gateway.invoke("c-echo", ["op": "history", "accountId": "acc-c"])
        }
        await gateway.stop()
    }

    @Test func unknownPlatformIsAClearError() async throws {
        let gateway = try await TestGateway(plugins: [])
        let error = await #expect(throws: ChannelError.self) {
            try await gateway.invoke("telegram", ["op": "status"])
        }
        #expect(error?.code == "no_channel")
        await gateway.stop()
    }

    /// A descriptor in C with the given deviations from a good plugin.
    private func descriptorSource(major: String = "GW_ABI_MAJOR", structSize: String = "sizeof(gw_channel)", openSucceeds: Bool = true) -> String {
        """
        #include "gateway_channel.h"
        #include <stdio.h>
        static int op(const gw_host *h, const char *c, size_t l, void **i, char *e, size_t n) {
            (void)h; (void)c; (void)l; *i = 0;
            \(openSucceeds ? "return GW_OK;" : "snprintf(e, n, \"no database configured\"); return GW_ERROR;")
        }
        static void inv(void *i, const char *r, size_t l, gw_reply_fn f, void *x) { (void)i; f(x, GW_REPLY_OK, r, l); }
        static void cl(void *i) { (void)i; }
        static const gw_channel d = { \(structSize), \(major), 0, "broken", "0.0.1", "[]", op, inv, cl };
        const gw_channel *gw_channel_entry(void) { return &d; }
        """
    }
}

/// Compiles a C source into a shared library with the system C compiler.
func compilePlugin(in directory: TemporaryDirectory, named name: String, source: String) throws -> String {
    let sourcePath = try directory.write("\(name).c", source)
    let output = directory.file("lib\(name).so")
    let result = try run(
        "/usr/bin/env", ["cc", "-shared", "-fPIC", "-I", repositoryFile("Sources/GatewayABI/include"), sourcePath, "-o", output])
    guard result.status == 0 else { throw TestFailure("cc failed: \(result.output)") }
    return output
}

/// Creates an account the way the API will: a status event carrying its organization.
func createAccount(_ gateway: TestGateway, id: String, platform: String, organization: String = "org-1") async throws {
    gateway.gateway.pipeline.submit(
        .accountStatus(AccountStatusUpdate(accountId: id, status: .connected, organizationId: organization)), channel: platform)
    await gateway.gateway.pipeline.flush()
}
