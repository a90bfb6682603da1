import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// The pure Engine.IO / Socket.IO codecs, the recovery log and the rate limiter.
@Suite struct HubProtocolTests {
    @Test func engineIOPacketsRoundTrip() throws {
        let packets: [EngineIOPacket] = [.open("{\"sid\":\"x\"}"), .close, .ping("probe"), .pong(""), .message("2[\"a\"]"), .upgrade, .noop]
        for packet in packets {
            #expect(try EngineIOPacket(parsing: packet.encoded[...]) == packet)
        }
        let payload = EngineIOPacket.encodePayload(packets.map(\.encoded))
        #expect(try EngineIOPacket.parsePayload(payload) == packets)
    }

    @Test(arguments: ["", "7", "x", "b4AAA"])
    func malformedEngineIOPacketsAreRejected(text: String) {
        #expect(throws: EngineIOPacket.Malformed.self) { try EngineIOPacket(parsing: text[...]) }
    }

    @Test func socketIOPacketsParse() throws {
        let connect = try SocketIOPacket(parsing: "0{\"token\":\"t\",\"offset\":5}")
        #expect(connect.kind == .connect)
        #expect(connect.data?["token"] == "t")
        let event = try SocketIOPacket(parsing: "212[\"subscribe\",\"chat:1\"]")
        #expect(event.kind == .event)
        #expect(event.ackId == 12)
        #expect(event.eventName == "subscribe")
        #expect(event.eventArguments == ["chat:1"])
        let namespaced = try SocketIOPacket(parsing: "2/admin,[\"x\"]")
        #expect(namespaced.namespace == "/admin")
        let ack = SocketIOPacket(kind: .ack, ackId: 3, data: [["room": "org:1"]])
        #expect(try SocketIOPacket(parsing: ack.encoded) == ack)
        #expect(SocketIOPacket.event("connected", ["a": 1]).encoded == "2[\"connected\",{\"a\":1}]")
    }

    @Test(arguments: [
        "", "9", "2", "2{\"not\":\"array\"}", "2[1,2]", "2[\"a\"", "0[1]", "3[1]", "51-[\"x\",{\"_placeholder\":true,\"num\":0}]",
        "21234567890123[\"a\"]", "2[" + String(repeating: "[", count: 10) + "]",
    ])
    func malformedSocketIOPacketsAreRejected(text: String) {
        #expect(throws: SocketIOPacket.Malformed.self) { try SocketIOPacket(parsing: text) }
    }

    @Test func oversizedPacketsAreRejected() {
        #expect(throws: SocketIOPacket.Malformed.self) {
            try SocketIOPacket(parsing: "2[\"x\",\"" + String(repeating: "a", count: 2000) + "\"]", maxLength: 1000)
        }
    }

    @Test func recoveryLogReplaysWhatWasMissed() {
        var log = RecoveryLog()
        let start = ContinuousClock.now
        let account = Account(id: "a", organizationId: "o", platform: "loopback", status: .connected, createdAt: Date())
        let event = GatewayEvent(type: .accountStatus, organizationId: "o", data: .account(account))
        for offset in 101...105 {
            log.append(.init(offset: offset, time: start, event: event), window: .seconds(120), limit: 3)
        }
        func offsets(after offset: Int, at now: ContinuousClock.Instant = start) -> [Int]? {
            log.events(after: offset, now: now, window: .seconds(120))?.map(\.offset)
        }
        #expect(offsets(after: 103) == [104, 105])
        #expect(offsets(after: 105) == [])
        #expect(offsets(after: 102) == [103, 104, 105])
        #expect(offsets(after: 101) == nil, "102 is no longer kept")
        #expect(offsets(after: 200) == nil, "an offset from the future")
        #expect(offsets(after: 104, at: start + .seconds(121)) == nil, "past the window")
    }

    @Test func rateLimiterRefusesPastTheLimit() {
        let limiter = RateLimiter(perMinute: 3)
        #expect(limiter.acquire(key: "a") == nil)
        #expect(limiter.acquire(key: "a") == nil)
        #expect(limiter.acquire(key: "a") == nil)
        let wait = limiter.acquire(key: "a")
        #expect(wait != nil && wait! >= 1 && wait! <= 20)
        #expect(limiter.acquire(key: "b") == nil, "buckets are per key")
    }

    @Test func webhookSignatureIsHMACOverTimestampAndBody() {
        // Reference: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        let signature = WebhookSignature.sign(body: Data("{\"a\":1}".utf8), timestamp: 1_700_000_000, secret: "secret")
        #expect(signature == "sha256=" + referenceHMAC("1700000000.{\"a\":1}", key: "secret"))
    }

    /// RFC 6455 §5.2 server frames: FIN + text opcode, unmasked, 7-bit / 16-bit / 64-bit length.
    @Test func hubFramesAreWebSocketTextFrames() {
        for (length, header) in [(5, [0x81, 5]), (200, [0x81, 126, 0, 200]), (70_000, [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70])] {
            let text = String(repeating: "é", count: length / 2) + String(repeating: "a", count: length % 2)
            let frame = HubFrame(text)
            let bytes = Array(frame.webSocketFrame.readableBytesView)
            #expect(Array(bytes.prefix(header.count)) == header.map(UInt8.init))
            #expect(Array(bytes.dropFirst(header.count)) == Array(text.utf8))
            #expect(frame.text == text)
        }
        let payload = EngineIOPacket.encodePayload([HubFrame("40"), HubFrame("42[\"a\"]")])
        #expect(String(buffer: payload) == EngineIOPacket.encodePayload(["40", "42[\"a\"]"]))
    }

    @Test func eventPacketCarriesTheOffset() throws {
        let account = Account(id: "a", organizationId: "o", platform: "loopback", status: .connected, createdAt: Date(timeIntervalSince1970: 0))
        let event = GatewayEvent(type: .accountConnected, organizationId: "o", data: .account(account))
        let packet = Hub.eventPacket(event, offset: 42).text
        let parsed = try SocketIOPacket(parsing: String(packet.dropFirst()))
        #expect(parsed.eventName == "event")
        #expect(parsed.eventArguments.first?["offset"] == 42)
        #expect(parsed.eventArguments.first?["type"] == "BD_ACCOUNT_CONNECTED")
    }
}

/// HMAC-SHA256 computed by the openssl command line, the independent reference.
func referenceHMAC(_ message: String, key: String) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "dgst", "-sha256", "-hmac", key, "-r"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try? process.run()
    input.fileHandleForWriting.write(Data(message.utf8))
    try? input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return String(text.prefix { $0 != " " })
}
