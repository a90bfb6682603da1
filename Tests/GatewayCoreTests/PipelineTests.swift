import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// Plugin → pipeline → router → SQLite, through the Swift loopback plugin loaded with dlopen.
@Suite struct PipelineTests {
    @Test func loginStepsSendEchoAndIdempotency() async throws {
        let gateway = try await TestGateway(plugins: [TestGateway.loopback])
        try await createAccount(gateway, id: "acc-1", platform: "loopback")
        let connect = try await gateway.invoke(
            "loopback", ["op": "connect", "accountId": "acc-1", "organizationId": "org-1", "config": ["requireCode": true, "requirePassword": true]])
        #expect(connect["status"] == "awaiting_code")
        let wrongCode = await #expect(throws: ChannelError.self) {
            try await gateway.invoke("loopback", ["op": "submit_code", "accountId": "acc-1", "code": "00000"])
        }
        #expect(wrongCode?.code == "PHONE_CODE_INVALID")
        #expect(try await gateway.invoke("loopback", ["op": "submit_code", "accountId": "acc-1", "code": "12345"])["status"] == "awaiting_password")
        #expect(try await gateway.invoke("loopback", ["op": "submit_password", "accountId": "acc-1", "password": "secret"])["status"] == "connected")

        let send: JSONValue = ["op": "send", "accountId": "acc-1", "chatId": "peer", "text": "hi", "idempotencyKey": "same"]
        let first = try await gateway.invoke("loopback", send)
        let second = try await gateway.invoke("loopback", send)
        #expect(first["externalId"] == second["externalId"], "a retried send is the same send")
        let stats = try await gateway.stats()
        #expect(stats.messages == 1, "one echo, not two")
        #expect(stats.chats == 1)
        let account = try await gateway.gateway.store.account(id: "acc-1")
        #expect(account?.status == .connected)
        #expect(account?.organizationId == "org-1")

        let invalid = await #expect(throws: ChannelError.self) {
            try await gateway.invoke("loopback", ["op": "send", "accountId": "acc-1"])
        }
        #expect(invalid?.code == "bad_request")
        #expect(invalid?.message.contains("chatId") == true)
        await gateway.stop()
    }

    @Test func redeliveryIsStoredOnceAndFansOutOnce() async throws {
        let gateway = try await TestGateway(plugins: [TestGateway.loopback])
        try await createAccount(gateway, id: "acc-1", platform: "loopback")
        let hub = gateway.gateway.bus.subscribe(topics: [EventBus.hubTopic])
        let emit: JSONValue = ["op": "emit", "accountId": "acc-1", "count": 500, "chats": 5]
        #expect(try await gateway.invoke("loopback", emit)["emitted"] == 500)
        #expect(try await gateway.invoke("loopback", emit)["emitted"] == 500)
        let stats = try await gateway.stats()
        #expect(stats.messages == 500)
        #expect(stats.chats == 5)
        #expect(stats.accounts == 1)
        var received = 0
        for await batch in hub {
            received += batch.events.filter { $0.type == .messageReceived }.count
            if received >= 500 { break }
        }
        #expect(received == 500)
        await gateway.stop()
    }

    @Test func routesDecideWhatIsStored() async throws {
        let routes = [
            Route(name: "drop spam", match: RouteMatch(text: try TextPattern("(?i)spam")), actions: [.drop]),
            Route(name: "hub only", match: RouteMatch(chats: ["chat-1"]), actions: [.hub]),
            Route(name: "rest", match: RouteMatch(), actions: [.store]),
        ]
        let gateway = try await TestGateway(plugins: [TestGateway.loopback], routes: routes)
        try await createAccount(gateway, id: "acc-1", platform: "loopback")
        _ = try await gateway.invoke("loopback", ["op": "emit", "accountId": "acc-1", "count": 10, "chats": 2])
        _ = try await gateway.invoke("loopback", ["op": "emit", "accountId": "acc-1", "count": 3, "start": 100, "text": "SPAM!"])
        #expect(try await gateway.stats().messages == 5, "chat-0 stored, chat-1 hub only, spam dropped")
        await gateway.stop()
    }

    @Test func messagesForUnknownAccountsAreRejected() async throws {
        let gateway = try await TestGateway(plugins: [TestGateway.loopback])
        _ = try await gateway.invoke("loopback", ["op": "emit", "accountId": "nobody", "count": 3])
        #expect(try await gateway.stats().messages == 0)
        await gateway.stop()
    }

    @Test func statusOnlyMovesForward() async throws {
        let gateway = try await TestGateway(plugins: [TestGateway.loopback])
        try await createAccount(gateway, id: "acc-1", platform: "loopback")
        _ = try await gateway.invoke("loopback", ["op": "emit", "accountId": "acc-1", "count": 1])
        await gateway.gateway.pipeline.flush()
        let store = gateway.gateway.store
        let read = try await store.write([.updateStatus(MessageStatusUpdate(accountId: "acc-1", chatId: "chat-0", externalId: "m0", status: .read))])
        guard case .statusChanged(let change, _) = read.first else {
            Issue.record("expected a status change, got \(read)")
            return
        }
        #expect(change.status == .read)
        let backwards = try await store.write([.updateStatus(MessageStatusUpdate(accountId: "acc-1", chatId: "chat-0", externalId: "m0", status: .sent))])
        #expect(backwards == [.unchanged])
        #expect(MessageStatus.pending.canAdvance(to: .failed))
        #expect(!MessageStatus.sent.canAdvance(to: .failed))
        #expect(!MessageStatus.read.canAdvance(to: .delivered))
        await gateway.stop()
    }

    @Test func closeDeliversOutstandingReplies() async throws {
        let gateway = try await TestGateway(plugins: [TestGateway.loopback])
        try await createAccount(gateway, id: "acc-1", platform: "loopback")
        async let burst = gateway.invoke("loopback", ["op": "emit", "accountId": "acc-1", "count": 200_000])
        try await Task.sleep(for: .milliseconds(20))
        await gateway.stop()
        let reply = try await burst
        #expect(reply["emitted"]?.intValue != nil, "the in-flight request got its reply before close returned")
    }
}
