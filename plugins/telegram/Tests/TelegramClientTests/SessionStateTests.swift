import Foundation
import Testing
import TelegramAPI
@testable import TelegramClient

@Suite struct SessionStateTests {
    static let sample = TelegramSessionState(
        homeDataCenter: 4,
        dataCenters: [4: StoredAuthorization(authKey: Data((0..<256).map { UInt8($0) }), salt: -77, timeOffset: 1.5),
                      2: StoredAuthorization(authKey: Data(repeating: 9, count: 256), salt: 5, timeOffset: -0.25)],
        userId: 1_000_001,
        user: TelegramUser(id: 1_000_001, firstName: "Alice", lastName: nil, username: "alice", phone: "99966"),
        updateState: UpdateState(pts: 120, qts: 3, date: 1_700_000_000, seq: 17, channelPts: [1_700_000_001: 55]),
        peers: ["42": PeerReference(kind: .user, id: 42, accessHash: -9_000_000_000, title: "Bob", username: "bob"),
                "-100123": PeerReference(kind: .supergroup, id: 123, accessHash: 7, title: "Team")])

    @Test func roundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(Self.sample)
        #expect(try JSONDecoder().decode(TelegramSessionState.self, from: data) == Self.sample)
        // Integer-keyed maps are objects with decimal keys, the key is base64.
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["version"] as? Int == 1)
        let dataCenters = try #require(object["dataCenters"] as? [String: Any])
        #expect(Set(dataCenters.keys) == ["2", "4"])
        let four = try #require(dataCenters["4"] as? [String: Any])
        #expect(four["authKey"] as? String == Data((0..<256).map { UInt8($0) }).base64EncodedString())
        let updateState = try #require(object["updateState"] as? [String: Any])
        #expect((updateState["channelPts"] as? [String: Int])?["1700000001"] == 55)
    }

    @Test func aNewerVersionIsRefused() throws {
        var newer = Self.sample
        newer.version = 2
        let data = try JSONEncoder().encode(newer)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TelegramSessionState.self, from: data) }
    }

    @Test func aMinimalStateDecodes() throws {
        let json = #"{"version":1,"homeDataCenter":2}"#
        let state = try JSONDecoder().decode(TelegramSessionState.self, from: Data(json.utf8))
        #expect(state == TelegramSessionState(homeDataCenter: 2))
    }

    @Test func markedChatIds() {
        #expect(ChatID.of(.peerUser(.init(userId: 123))) == "123")
        #expect(ChatID.of(.peerChat(.init(chatId: 123))) == "-123")
        #expect(ChatID.of(.peerChannel(.init(channelId: 123))) == "-100123")
        #expect(ChatID.parse("123") == .user(123))
        #expect(ChatID.parse("-123") == .chat(123))
        #expect(ChatID.parse("-1001700000001") == .channel(1_700_000_001))
        #expect(ChatID.parse("-100123", known: .group) == .chat(100_123))
        for bad in ["", "-", "abc", "0", "-0", "12a", "--5", "+5"] { #expect(ChatID.parse(bad) == nil, "\(bad)") }
    }

    @Test func dialogCursorsRoundTrip() {
        let cursor = DialogCursor(offsetDate: 1_700_000_000, offsetId: 55, chatId: "-1001700000001")
        #expect(DialogCursor(cursor.encoded) == cursor)
        #expect(DialogCursor("garbage") == nil)
        #expect(DialogCursor("d1:1:2:") == nil)
    }

    @Test func builtInKeysAreTelegrams() {
        // Fingerprints as published with the keys (core.telegram.org/mtproto/auth_key; tdlib, Telethon).
        #expect(TelegramClientConfiguration.productionRSAKeys.map(\.fingerprint) == [-3_414_540_481_677_951_611])
        #expect(TelegramClientConfiguration.testRSAKeys.map(\.fingerprint) == [-5_595_554_452_916_591_101])
        let configuration = TelegramClientConfiguration(apiId: 1, apiHash: "x")
        #expect(configuration.dataCenters[2] == DataCenterAddress(host: "149.154.167.51", port: 443))
        #expect(configuration.dataCenters.count == 5)
    }

    @Test func testServersAddTenThousandToTheDataCenter() {
        var configuration = TelegramClientConfiguration(apiId: 1, apiHash: "x", testServers: true)
        #expect(configuration.senderConfiguration(dc: 2)?.dcId == 10_002)
        configuration.testServers = false
        #expect(configuration.senderConfiguration(dc: 2)?.dcId == 2)
        #expect(configuration.senderConfiguration(dc: 9) == nil)
    }

    @Test func rpcErrorsMapToClientErrors() {
        #expect(TelegramClientError(RPCErrorFixture.make(400, "PHONE_CODE_INVALID")) == .phoneCodeInvalid)
        #expect(TelegramClientError(RPCErrorFixture.make(400, "PHONE_CODE_EXPIRED")) == .phoneCodeExpired)
        #expect(TelegramClientError(RPCErrorFixture.make(400, "PASSWORD_HASH_INVALID")) == .passwordInvalid)
        #expect(TelegramClientError(RPCErrorFixture.make(420, "FLOOD_WAIT_77")) == .floodWait(seconds: 77))
        #expect(TelegramClientError(RPCErrorFixture.make(403, "CHAT_WRITE_FORBIDDEN")) == .writeForbidden("CHAT_WRITE_FORBIDDEN"))
        #expect(TelegramClientError(RPCErrorFixture.make(400, "PEER_ID_INVALID")) == .peerInvalid("PEER_ID_INVALID"))
        #expect(TelegramClientError(RPCErrorFixture.make(401, "SESSION_REVOKED")) == .loggedOut("SESSION_REVOKED"))
        #expect(TelegramClientError(RPCErrorFixture.make(400, "SOMETHING_ELSE")) == .rpc(code: 400, message: "SOMETHING_ELSE"))
    }

    @Test func theMessageLedgerForgetsTheOldestHalfPastItsLimit() {
        var ledger = MessageLedger(limit: 10)
        var inserted = (1...10).map { ledger.insert(chatId: "1", id: Int32($0)) }
        #expect(inserted.allSatisfy { $0 })
        let again = ledger.insert(chatId: "1", id: 5)
        #expect(!again)
        let eleventh = ledger.insert(chatId: "1", id: 11)
        #expect(eleventh)
        #expect(!ledger.contains(chatId: "1", id: 1) && ledger.contains(chatId: "1", id: 11))
        inserted = (12...100).map { ledger.insert(chatId: "2", id: Int32($0)) }
        #expect(inserted.allSatisfy { $0 })
        #expect(ledger.contains(chatId: "2", id: 100))
    }
}
