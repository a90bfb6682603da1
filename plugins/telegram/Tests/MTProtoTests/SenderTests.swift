import FakeDC
import MTProto
import MTProtoCrypto
import MTProtoNetwork
import MTProtoTL
import MTProtoTransport
import Testing
import TelegramAPI

/// Our client against the fake DC over real TCP on loopback: handshake, RPCs and every fault the
/// DC can inject.
@Suite(.timeLimit(.minutes(2))) struct SenderTests {
    @Test(arguments: FakeDCSupport.allTransports)
    func handshakeAndRPCsOverEveryTransport(transport: TransportConfiguration) async throws {
        let dataCenter = try await FakeDCSupport.start()
        let port = await dataCenter.port
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: port, transport: transport))
        try await sender.connect()
        let nearest = try await sender.invoke(Api.Functions.InvokeWithLayer(
            layer: 201, query: Api.Functions.InitConnection(
                apiId: 1, deviceModel: "test", systemVersion: "linux", appVersion: "1.0", systemLangCode: "en",
                langPack: "", langCode: "en", query: Api.Functions.help.GetNearestDc())))
        guard case .nearestDc(let value) = nearest else { Issue.record("no nearestDc"); return }
        #expect(value.thisDc == 2)
        let pong = try await sender.invoke(MT.Functions.Ping(pingId: 77))
        guard case .pong(let answer) = pong else { Issue.record("no pong"); return }
        #expect(answer.pingId == 77)
        let calls = await dataCenter.calls
        #expect(calls.first?.layer == 201 && calls.first?.apiId == 1)
        await sender.close()
        await dataCenter.stop()
    }

    @Test func manyConcurrentRequestsTravelInContainersAndAllGetTheirAnswer() async throws {
        let dataCenter = try await FakeDCSupport.start()
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: await dataCenter.port))
        try await sender.connect()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 0..<100 {
                group.addTask {
                    guard case .pong(let pong) = try await sender.invoke(MT.Functions.Ping(pingId: Int64(id))) else { throw TestFailure("no pong") }
                    #expect(pong.pingId == Int64(id))
                }
            }
            try await group.waitForAll()
        }
        await sender.close()
        await dataCenter.stop()
    }

    @Test func badServerSaltIsRetriedWithTheNewSalt() async throws {
        let dataCenter = try await FakeDCSupport.start()
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: await dataCenter.port))
        try await sender.connect()
        let before = await sender.authorization?.salt
        await dataCenter.updateFaults { $0.badServerSalt = 2 }
        _ = try await sender.invoke(Api.Functions.help.GetNearestDc())
        #expect(await sender.authorization?.salt != before)
        await sender.close()
        await dataCenter.stop()
    }

    @Test func gzipPackedResultsAreInflated() async throws {
        let dataCenter = try await FakeDCSupport.start()
        await dataCenter.updateFaults { $0.gzipResults = true }
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: await dataCenter.port))
        try await sender.connect()
        guard case .config(let config) = try await sender.invoke(Api.Functions.help.GetConfig()) else { Issue.record("no config"); return }
        #expect(config.thisDc == 2 && config.dcOptions.count == 1)
        await sender.close()
        await dataCenter.stop()
    }

    @Test func aDroppedConnectionIsReopenedAndTheRequestSentAgain() async throws {
        let dataCenter = try await FakeDCSupport.start()
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: await dataCenter.port))
        try await sender.connect()
        await dataCenter.updateFaults { $0.dropConnection = 1 }
        guard case .nearestDc(let nearest) = try await sender.invoke(Api.Functions.help.GetNearestDc()) else { Issue.record("no answer"); return }
        #expect(nearest.thisDc == 2)
        #expect(await dataCenter.handshakes == 1)  // the same key on the new connection
        await sender.close()
        await dataCenter.stop()
    }

    @Test func rpcErrorsAreTypedWithFloodWaitAndMigration() async throws {
        let dataCenter = try await FakeDCSupport.start()
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: await dataCenter.port))
        try await sender.connect()
        await dataCenter.updateFaults { $0.error = RPCError(code: 420, message: "FLOOD_WAIT_17"); $0.errorCount = 1 }
        do {
            _ = try await sender.invoke(Api.Functions.help.GetNearestDc())
            Issue.record("expected FLOOD_WAIT")
        } catch let error as RPCError {
            #expect(error.code == 420 && error.floodWaitSeconds == 17 && error.name == "FLOOD_WAIT")
        }
        await dataCenter.updateFaults { $0.error = RPCError(code: 303, message: "PHONE_MIGRATE_4"); $0.errorCount = 1 }
        do {
            _ = try await sender.invoke(Api.Functions.help.GetNearestDc())
            Issue.record("expected PHONE_MIGRATE")
        } catch let error as RPCError {
            #expect(error.migration?.kind == .phone && error.migration?.dc == 4)
        }
        // The session is still usable.
        _ = try await sender.invoke(Api.Functions.help.GetNearestDc())
        await sender.close()
        await dataCenter.stop()
    }

    @Test func aClientClockFarOffIsResynchronizedByBadMsgNotification() async throws {
        let dataCenter = try await FakeDCSupport.start()
        let port = await dataCenter.port
        let first = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: port))
        try await first.connect()
        guard var state = await first.authorization else { Issue.record("no key"); return }
        await first.close()
        state.timeOffset = -1000  // our ids now look 1000 s old to the DC: error 16
        let second = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: port), authorization: state)
        try await second.connect()
        _ = try await second.invoke(Api.Functions.help.GetNearestDc())
        let offset = await second.authorization?.timeOffset ?? -1000
        #expect(abs(offset) < 5)
        await second.close()
        await dataCenter.stop()
    }

    @Test func anUnansweredRequestTimesOut() async throws {
        let dataCenter = try await FakeDCSupport.start()
        await dataCenter.onRaw(Api.Functions.help.GetNearestDc.constructorId) { _ in .noReply }
        var configuration = FakeDCSupport.senderConfiguration(port: await dataCenter.port)
        configuration.requestTimeout = .milliseconds(300)
        let sender = MTProtoSender(configuration: configuration)
        try await sender.connect()
        await #expect(throws: SenderError.timeout) { try await sender.invoke(Api.Functions.help.GetNearestDc()) }
        _ = try await sender.invoke(MT.Functions.Ping(pingId: 1))
        await sender.close()
        await dataCenter.stop()
    }

    @Test func anAuthKeyTheDCDoesNotKnowIsATypedError() async throws {
        let dataCenter = try await FakeDCSupport.start()
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: await dataCenter.port))
        try await sender.connect()
        await dataCenter.forgetKeys()
        await #expect(throws: SenderError.authKeyRejected) { try await sender.invoke(Api.Functions.help.GetNearestDc()) }
        await dataCenter.stop()
    }

    @Test func anUntrustedServerKeyFailsTheHandshake() async throws {
        let dataCenter = try await FakeDCSupport.start()
        let stranger = try RSAPrivateKey.generate().publicKey
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: await dataCenter.port, keys: [stranger]))
        await #expect(throws: SenderError.self) { try await sender.connect() }
        await dataCenter.stop()
    }

    @Test func nothingListeningIsAConnectionError() async throws {
        let dataCenter = try await FakeDCSupport.start()
        let port = await dataCenter.port
        await dataCenter.stop()
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: port))
        await #expect(throws: SenderError.self) { try await sender.connect() }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
