import Foundation
import MTProto
import MTProtoCrypto
import MTProtoTL
import Testing
import TLRuntime

/// The encrypted session state machines, client ↔ server in memory (no sockets).
@Suite struct SessionTests {
    static let authKey = AuthKey(SecureRandom.bytes(256))!
    static let now: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    func pair(salt: Int64 = 99) -> (ClientSession, ServerSession) {
        (ClientSession(authKey: Self.authKey, salt: salt, timeOffset: 0, now: Self.now),
         ServerSession(authKey: Self.authKey, salt: salt, now: Self.now))
    }

    @Test func requestAndResultRoundTrip() throws {
        let (client, server) = pair()
        let token = client.send(MT.Functions.Ping(pingId: 5))
        let incoming = try server.receive(try #require(client.pack()))
        #expect(incoming.isNewSession && incoming.salt == 99 && incoming.messages.count == 1)
        let message = incoming.messages[0]
        #expect(message.isContentRelated && message.messageId % 4 == 0)
        let result = ServiceMessages.rpcResult(requestMessageId: message.messageId, result: [1, 0, 0, 0])
        let events = try client.receive(server.packet([.init(result)]))
        #expect(events == [.result(token, .success([1, 0, 0, 0]))])
        // The result was content-related: the client owes an ack, sent with its next packet.
        #expect(client.hasPendingAcknowledgements)
        let ack = try server.receive(try #require(client.pack()))
        #expect(ServiceMessages.constructorId(of: ack.messages[0].body) == MT.Types.MsgsAck.constructorId)
    }

    @Test func seqNoAndMessageIdsFollowTheProtocol() throws {
        let (client, server) = pair()
        for id in 0..<5 { _ = client.send(MT.Functions.Ping(pingId: Int64(id))) }
        let messages = try server.receive(try #require(client.pack())).messages
        #expect(messages.map(\.seqNo) == [1, 3, 5, 7, 9])
        #expect(zip(messages, messages.dropFirst()).allSatisfy { $0.messageId < $1.messageId })
        #expect(messages.allSatisfy { $0.messageId % 4 == 0 })
    }

    @Test func containersGzipAndUpdatesAreUnpacked() throws {
        let (client, server) = pair()
        let token = client.send(MT.Functions.Ping(pingId: 1))
        let request = try server.receive(try #require(client.pack())).messages[0]
        let update = [UInt8](repeating: 7, count: 4000)  // stands for an Updates object
        let packet = server.packet([
            .init(ServiceMessages.gzipPacked(update)),
            .init(ServiceMessages.rpcResult(requestMessageId: request.messageId, result: ServiceMessages.gzipPacked([2, 0, 0, 0]))),
        ])
        let events = try client.receive(packet)
        #expect(events == [.update(update), .result(token, .success([2, 0, 0, 0]))])
    }

    @Test func rpcErrorsAreParsed() throws {
        let (client, server) = pair()
        let token = client.send(MT.Functions.Ping(pingId: 1))
        let request = try server.receive(try #require(client.pack())).messages[0]
        let error = RPCError(code: 420, message: "FLOOD_WAIT_31")
        let events = try client.receive(server.packet([.init(ServiceMessages.rpcResult(requestMessageId: request.messageId,
                                                                                       result: ServiceMessages.rpcError(error)))]))
        #expect(events == [.result(token, .failure(error))])
        #expect(error.floodWaitSeconds == 31)
        #expect(RPCError(code: 303, message: "USER_MIGRATE_5").migration?.dc == 5)
        #expect(RPCError(code: 303, message: "NETWORK_MIGRATE_1").migration?.kind == .network)
        #expect(RPCError(code: 400, message: "PHONE_CODE_INVALID").migration == nil)
        #expect(RPCError(code: 400, message: "PHONE_CODE_INVALID").floodWaitSeconds == nil)
    }

    @Test func badServerSaltResendsWithTheNewSalt() throws {
        let (client, server) = pair()
        let token = client.send(MT.Functions.Ping(pingId: 1))
        let first = try server.receive(try #require(client.pack()))
        let notice = MT.Types.BadServerSalt(badMsgId: first.outerMessageId, badMsgSeqno: first.outerSeqNo, errorCode: 48, newServerSalt: 1234)
        #expect(try client.receive(server.packet([.init(notice.serialized(), contentRelated: false)])) == [.stateChanged])
        #expect(client.salt == 1234)
        let again = try server.receive(try #require(client.pack()))
        #expect(again.salt == 1234 && again.messages.count == 1 && again.messages[0].messageId != first.outerMessageId)
        _ = token
    }

    @Test func unansweredRequestsAreSentAgainAfterAReconnect() throws {
        let (client, server) = pair()
        let tokens = (0..<3).map { client.send(MT.Functions.Ping(pingId: Int64($0))) }
        let first = try server.receive(try #require(client.pack())).messages
        // The first one is answered; the link drops before the other two.
        _ = try client.receive(server.packet([.init(ServiceMessages.rpcResult(requestMessageId: first[0].messageId, result: [0, 0, 0, 0]))]))
        client.connectionLost()
        #expect(client.unansweredCount == 2)
        let resent = try server.receive(try #require(client.pack())).messages.filter(\.isContentRelated)
        #expect(resent.map(\.body) == Array(first[1...].map(\.body)))
        #expect(Set(resent.map(\.messageId)).isDisjoint(with: first.map(\.messageId)))
        _ = tokens
    }

    @Test func badInputIsRejectedWithATypedErrorAndTheSessionGoesOn() throws {
        let (client, server) = pair()
        let token = client.send(MT.Functions.Ping(pingId: 1))
        let request = try server.receive(try #require(client.pack())).messages[0]
        let stale = server.packet([.init([9, 9, 9, 9])], messageIdOffset: -1000)
        let good = server.packet([.init(ServiceMessages.rpcResult(requestMessageId: request.messageId, result: [3, 0, 0, 0]))])

        var tampered = good
        tampered[40] ^= 1
        #expect(throws: SessionError.messageKeyMismatch) { try client.receive(tampered) }
        var wrongKey = good
        wrongKey[0] ^= 1
        #expect(throws: SessionError.self) { try client.receive(wrongKey) }
        #expect(throws: SessionError.packetTooShort(20)) { try client.receive(Array(good[..<20])) }
        for length in [24, 71, 72, 100] where length < good.count {
            #expect(throws: (any Error).self) { try client.receive(Array(good[..<length])) }
        }
        #expect { try client.receive(stale) } throws: { error in
            if case SessionError.messageIdOutOfWindow = error { return true } else { return false }
        }
        let otherKey = ServerSession(authKey: AuthKey(SecureRandom.bytes(256))!, salt: 1, now: Self.now)
        #expect(throws: SessionError.self) { try client.receive(otherKey.packet([.init([1, 0, 0, 0])])) }
        for _ in 0..<200 {
            let garbage = SecureRandom.bytes(Int.random(in: 0...300))
            #expect(throws: (any Error).self) { try client.receive(garbage) }
        }

        #expect(try client.receive(good) == [.result(token, .success([3, 0, 0, 0]))])
        #expect { try client.receive(good) } throws: { error in
            if case SessionError.duplicateMessageId = error { return true } else { return false }
        }
    }

    @Test func hostileContainersAndGzipAreBounded() throws {
        let (client, server) = pair()
        client.send(MT.Functions.Ping(pingId: 1))
        _ = try server.receive(try #require(client.pack()))  // the server learns the session id
        var lying = TLWriter()
        lying.write(ServiceConstructor.messageContainer)
        lying.write(Int32(1))
        lying.write(Int64(1))
        lying.write(Int32(1))
        lying.write(Int32(1 << 20))  // claims a megabyte that is not there
        #expect { try client.receive(server.packet([.init(lying.bytes)])) } throws: { error in
            if case SessionError.malformedContainer = error { return true } else { return false }
        }
        let nested = ServiceMessages.container([InnerMessage(messageId: 5, seqNo: 0, body: ServiceMessages.container([]))])
        #expect { try client.receive(server.packet([.init(nested, contentRelated: false)])) } throws: { error in
            if case SessionError.malformedContainer = error { return true } else { return false }
        }
        let bomb = ServiceMessages.gzipPacked([UInt8](repeating: 0, count: 20 << 20))
        #expect(throws: SessionError.inflatedTooLarge(limit: ServiceMessages.maximumInflatedSize)) {
            try client.receive(server.packet([.init(bomb)]))
        }
        var corrupt = TLWriter()
        corrupt.write(ServiceConstructor.gzipPacked)
        corrupt.writeBytes([0x1f, 0x8b, 1, 2, 3, 4])
        #expect(throws: SessionError.corruptGzip) { try client.receive(server.packet([.init(corrupt.bytes)])) }
    }

    @Test func messageIdsAreMonotonicAndCarryTheOffset() {
        var generator = MessageIdGenerator(timeOffset: 100)
        let now = 1_700_000_000.5
        let ids = (0..<1000).map { _ in generator.next(now: now) }
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 } && ids.allSatisfy { $0 % 4 == 0 })
        #expect(abs(MessageIdGenerator.time(of: ids[0]) - (now + 100)) < 0.001)
        #expect(generator.next(.serverResponse, now: now) & 3 == 1)
        #expect(generator.next(.serverNotification, now: now) & 3 == 3)
    }
}
