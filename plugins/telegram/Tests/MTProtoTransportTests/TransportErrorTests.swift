import Testing
import MTProtoTransport

@Suite struct TransportErrorTests {
    @Test(arguments: supportedConfigurations)
    func serverErrorsReachTheClient(configuration: TransportConfiguration) throws {
        let (client, server) = try connectedPair(configuration)
        #expect(throws: TransportError.serverError(code: -404)) { try client.decode(server.encodeError(code: 404)) }
        // Once failed, the codec keeps failing.
        #expect(throws: TransportError.serverError(code: -404)) { try client.decode(server.encode(randomPayload(16))) }

        let (otherClient, otherServer) = try connectedPair(configuration)
        #expect(throws: TransportError.serverError(code: -429)) {
            try decodeAll(otherClient, otherServer.encodeError(code: -429), chunking: .singleBytes)
        }
    }

    @Test func eventsBeforeAnErrorAreDeliveredAndTheErrorFollows() throws {
        let (client, server) = try connectedPair(TransportConfiguration(kind: .intermediate, obfuscated: false))
        let payload = randomPayload(24)
        let events = try client.decode(server.encode(payload) + server.encodeError(code: 404))
        #expect(events == [.packet(payload)])
        #expect(throws: TransportError.serverError(code: -404)) { try client.decode([]) }
    }

    @Test(arguments: TransportKind.allCases)
    func oversizedFramesFailFromTheHeaderAlone(kind: TransportKind) throws {
        let client = TransportCodec(configuration: TransportConfiguration(kind: kind, obfuscated: false), role: .client)
        let server = TransportCodec.server(maxFrameLength: 1024)
        let stream = client.encode(randomPayload(1028))
        let headerEnd = kind.tagLength + (kind == .abridged ? 4 : 8)  // full: also needs the seq word for detection
        let error = #expect(throws: TransportError.self) { try server.decode(Array(stream.prefix(headerEnd))) }
        guard case .frameTooLarge(let length, let limit)? = error else {
            Issue.record("expected frameTooLarge, got \(String(describing: error))")
            return
        }
        #expect(limit == 1024)
        // Padded intermediate counts its 0-15 random padding bytes in the length.
        #expect(kind == .paddedIntermediate ? (1028...1043).contains(length) : length == 1028)
    }

    @Test func clientEnforcesItsLimitToo() throws {
        let configuration = TransportConfiguration(kind: .paddedIntermediate, obfuscated: true, maxFrameLength: 100)
        let client = TransportCodec(configuration: configuration, role: .client)
        let server = TransportCodec.server()
        _ = try server.decode(client.encode(randomPayload(8)))
        #expect(throws: TransportError.self) { try client.decode(server.encode(randomPayload(200))) }
    }

    @Test(arguments: supportedConfigurations)
    func truncatedFramesWaitForTheRest(configuration: TransportConfiguration) throws {
        let padded = configuration.kind == .paddedIntermediate
        let payload = randomPayload(600)
        for cut in [1, 2, 3, 4, 5, 8, 300, 603] {
            let (client, server) = try connectedPair(configuration)
            let frame = server.encode(payload)
            #expect(try client.decode(Array(frame.prefix(cut))).isEmpty)
            let events = try client.decode(Array(frame.dropFirst(cut)))
            #expect(payloads(events, sentLengths: [600], padded: padded) == [payload])
        }
    }

    /// Random bytes after a valid start: decode must either return events or throw a
    /// `TransportError`, never crash or hang.
    @Test(arguments: supportedConfigurations)
    func garbageNeverCrashes(configuration: TransportConfiguration) throws {
        for _ in 0..<100 {
            let (client, server) = try connectedPair(configuration)
            let garbage = randomBytes(Int.random(in: 1...300))
            for codec in [client, server] {
                do {
                    _ = try decodeAll(codec, garbage, chunking: .random(maximum: 7))
                } catch is TransportError {
                    // expected for most garbage
                }
            }
        }
    }

    @Test func garbageFirstBytesAreRejected() throws {
        for text in ["GET / HTTP/1.1\r\n\r\n", "POST /api HTTP/1.1", "HEAD / HTTP/1.0", "OPTIONS * HTTP/1.1"] {
            let bytes = Array(text.utf8)
            #expect(throws: TransportError.unknownProtocolTag(Array(bytes.prefix(4)))) { try TransportCodec.server().decode(bytes) }
        }
        let tls: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]
        #expect(throws: TransportError.unknownProtocolTag([0x16, 0x03, 0x01, 0x02])) { try TransportCodec.server().decode(tls) }
        // 64 bytes that look like an obfuscation header but decrypt to no transport tag.
        let noise = (1...64).map { UInt8($0) }
        let server = TransportCodec.server()
        #expect(try server.decode(Array(noise.prefix(63))).isEmpty)
        #expect(throws: TransportError.unknownProtocolTag([1, 2, 3, 4])) { try server.decode([64]) }
        // The same for a server expecting obfuscation is a malformed header.
        let strict = TransportCodec(configuration: TransportConfiguration(kind: .abridged, obfuscated: true), role: .server)
        #expect(throws: TransportError.self) { try strict.decode(noise) }
    }

    @Test func invalidLengthsAreRejected() throws {
        let cases: [(TransportKind, [UInt8], TransportError)] = [
            (.abridged, [0xef, 0x00], .invalidLength(0)),
            (.intermediate, [0xee, 0xee, 0xee, 0xee, 0x06, 0, 0, 0], .invalidLength(6)),
            (.intermediate, [0xee, 0xee, 0xee, 0xee, 0x00, 0, 0, 0], .invalidLength(0)),
            (.paddedIntermediate, [0xdd, 0xdd, 0xdd, 0xdd, 0x03, 0, 0, 0], .invalidLength(3)),
            (.full, [0x08, 0, 0, 0, 0, 0, 0, 0], .invalidLength(8)),
            (.full, [0x15, 0, 0, 0, 0, 0, 0, 0], .invalidLength(21)),
        ]
        for (kind, bytes, error) in cases {
            let server = TransportCodec.server()
            #expect(throws: error, "\(kind)") { try server.decode(bytes) }
        }
    }
}
