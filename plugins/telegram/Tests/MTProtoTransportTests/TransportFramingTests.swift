import Testing
import MTProtoTransport

@Suite struct TransportFramingTests {
    @Test func clientPrefixesTheFirstFrameWithTheProtocolTag() {
        let payload = randomPayload(8)
        let expectations: [(TransportKind, [UInt8])] = [
            (.abridged, [0xef, 0x02]),
            (.intermediate, [0xee, 0xee, 0xee, 0xee, 0x08, 0, 0, 0]),
            (.paddedIntermediate, [0xdd, 0xdd, 0xdd, 0xdd]),
            (.full, [0x14, 0, 0, 0, 0, 0, 0, 0]),
        ]
        for (kind, prefix) in expectations {
            let client = TransportCodec(configuration: TransportConfiguration(kind: kind, obfuscated: false), role: .client)
            let first = client.encode(payload)
            #expect(Array(first.prefix(prefix.count)) == prefix, "\(kind)")
            let second = client.encode(payload)
            #expect(second.count == first.count - kind.tagLength || kind == .paddedIntermediate, "\(kind)")
        }
    }

    @Test func abridgedUsesTheLongLengthFromA127WordPayload() {
        let client = TransportCodec(configuration: TransportConfiguration(kind: .abridged, obfuscated: false), role: .client)
        _ = client.encode(randomPayload(4))
        #expect(Array(client.encode(randomPayload(504)).prefix(1)) == [0x7e])
        #expect(Array(client.encode(randomPayload(508)).prefix(4)) == [0x7f, 0x7f, 0x00, 0x00])
        #expect(Array(client.encode(randomPayload(1 << 20)).prefix(4)) == [0x7f, 0x00, 0x00, 0x04])
    }

    @Test func obfuscationHeaderFollowsTheRules() throws {
        for kind in [TransportKind.abridged, .intermediate, .paddedIntermediate] {
            for _ in 0..<50 {
                let client = TransportCodec(configuration: TransportConfiguration(kind: kind, obfuscated: true, dcId: -2), role: .client)
                let first = client.encode(randomPayload(16))
                let header = Array(first.prefix(64))
                #expect(header[0] != 0xef)
                let firstWord = Array(header[0..<4])
                for forbidden in ["HEAD", "POST", "GET ", "OPTI"].map({ Array($0.utf8) }) + [[0x16, 0x03, 0x01, 0x02], [0xdd, 0xdd, 0xdd, 0xdd], [0xee, 0xee, 0xee, 0xee]] {
                    #expect(firstWord != forbidden)
                }
                #expect(header[4..<8] != [0, 0, 0, 0])
                // The server recovers kind and DC id from it.
                let server = TransportCodec.server()
                _ = try server.decode(first)
                #expect(server.configuration == TransportConfiguration(kind: kind, obfuscated: true, dcId: -2))
            }
        }
    }

    @Test(arguments: supportedConfigurations)
    func serverDetectsEveryTransport(configuration: TransportConfiguration) throws {
        var withDC = configuration
        withDC.dcId = configuration.obfuscated ? 10_004 : 0  // only obfuscation carries the DC id
        let client = TransportCodec(configuration: withDC, role: .client)
        let server = TransportCodec.server()
        #expect(server.configuration == nil)
        let stream = client.encode(randomPayload(32))
        // Nothing is decided (or thrown) while the first bytes are still ambiguous.
        let events = try decodeAll(server, stream, chunking: .singleBytes)
        #expect(events.count == 1)
        #expect(server.configuration == withDC)
    }

    @Test(arguments: supportedConfigurations)
    func serverWithAConfigurationAcceptsOnlyThatTransport(configuration: TransportConfiguration) throws {
        for other in supportedConfigurations {
            let server = TransportCodec(configuration: configuration, role: .server)
            let client = TransportCodec(configuration: other, role: .client)
            let stream = client.encode(randomPayload(32))
            if other == configuration {
                #expect(try server.decode(stream).count == 1)
                #expect(server.configuration == configuration)
            } else {
                #expect(throws: TransportError.self) { try server.decode(stream) }
            }
        }
    }

    @Test(arguments: TransportKind.allCases)
    func quickAckRequestsAreUnderstoodByTheServer(kind: TransportKind) throws {
        let client = TransportCodec(configuration: TransportConfiguration(kind: kind, obfuscated: false), role: .client)
        let server = TransportCodec.server()
        _ = try server.decode(client.encode(randomPayload(8)))
        let payload = randomPayload(64)
        let frame = client.encode(payload, quickAck: true)
        switch kind {
        case .abridged: #expect(frame[0] == 0x80 | 16)
        case .intermediate, .paddedIntermediate: #expect(frame[3] & 0x80 != 0)
        case .full: #expect(frame[3] & 0x80 == 0)
        }
        let events = try server.decode(frame)
        #expect(payloads(events, sentLengths: [64], padded: kind == .paddedIntermediate) == [payload])
    }

    @Test(arguments: supportedConfigurations)
    func clientDecodesQuickAcks(configuration: TransportConfiguration) throws {
        let (client, server) = try connectedPair(configuration)
        let token: UInt32 = 0x1234_5678
        guard let frame = server.encodeQuickAck(token) else {
            #expect(configuration.kind == .full)
            return
        }
        let response = randomPayload(100)
        let events = try decodeAll(client, frame + server.encode(response), chunking: .singleBytes)
        #expect(events.first == .quickAck(token | 0x8000_0000))
        #expect(payloads(Array(events.dropFirst()), sentLengths: [100], padded: configuration.kind == .paddedIntermediate) == [response])
    }

    @Test func quickAckWireFormats() throws {
        let token: UInt32 = 0x8765_4321
        for (kind, expected) in [(TransportKind.abridged, [0x87, 0x65, 0x43, 0x21] as [UInt8]), (.intermediate, [0x21, 0x43, 0x65, 0x87])] {
            let (_, server) = try connectedPair(TransportConfiguration(kind: kind, obfuscated: false))
            #expect(server.encodeQuickAck(token) == expected)
        }
        let (_, padded) = try connectedPair(TransportConfiguration(kind: .paddedIntermediate, obfuscated: false))
        let frame = try #require(padded.encodeQuickAck(token))
        #expect(Array(frame[4..<12]) == [0xff, 0xff, 0xff, 0xff, 0x21, 0x43, 0x65, 0x87])
        #expect((8...16).contains(frame.count - 4) && Int(frame[0]) == frame.count - 4)
    }
}

extension TransportKind {
    /// Length of the unobfuscated protocol tag (tests only).
    var tagLength: Int {
        switch self {
        case .abridged: 1
        case .intermediate, .paddedIntermediate: 4
        case .full: 0
        }
    }
}
