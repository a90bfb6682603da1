import Testing
import MTProtoTransport

@Suite struct TransportRoundTripTests {
    static let sizes = [4, 8, 124, 504, 508, 512, 4096, 65536, 1 << 20]

    @Test(arguments: supportedConfigurations)
    func clientToServer(configuration: TransportConfiguration) throws {
        let client = TransportCodec(configuration: configuration, role: .client)
        let server = TransportCodec.server()
        let sent = Self.sizes.map(randomPayload)
        let stream = sent.flatMap { client.encode($0) }
        let events = try decodeAll(server, stream, chunking: .random(maximum: 5000))
        #expect(payloads(events, sentLengths: Self.sizes, padded: configuration.kind == .paddedIntermediate) == sent)
        #expect(server.configuration == configuration)
    }

    @Test(arguments: supportedConfigurations)
    func serverToClient(configuration: TransportConfiguration) throws {
        let (client, server) = try connectedPair(configuration)
        let sent = Self.sizes.map(randomPayload)
        let stream = sent.flatMap { server.encode($0) }
        let events = try decodeAll(client, stream, chunking: .random(maximum: 5000))
        #expect(payloads(events, sentLengths: Self.sizes, padded: configuration.kind == .paddedIntermediate) == sent)
    }

    /// Small and medium frames, one byte per `decode` call, both directions.
    @Test(arguments: supportedConfigurations)
    func oneByteAtATime(configuration: TransportConfiguration) throws {
        let sizes = [4, 64, 508, 512, 2048]
        let padded = configuration.kind == .paddedIntermediate
        let client = TransportCodec(configuration: configuration, role: .client)
        let server = TransportCodec.server()
        let upstream = sizes.map(randomPayload)
        let fromClient = try decodeAll(server, upstream.flatMap { client.encode($0) }, chunking: .singleBytes)
        #expect(payloads(fromClient, sentLengths: sizes, padded: padded) == upstream)
        let downstream = sizes.map(randomPayload)
        let fromServer = try decodeAll(client, downstream.flatMap { server.encode($0) }, chunking: .singleBytes)
        #expect(payloads(fromServer, sentLengths: sizes, padded: padded) == downstream)
    }

    /// Interleaved traffic: every message crosses in a separate `decode` call.
    @Test(arguments: supportedConfigurations)
    func conversation(configuration: TransportConfiguration) throws {
        let (client, server) = try connectedPair(configuration)
        let padded = configuration.kind == .paddedIntermediate
        for round in 0..<50 {
            let request = randomPayload(4 * (round + 1))
            #expect(payloads(try server.decode(client.encode(request)), sentLengths: [request.count], padded: padded) == [request])
            let response = randomPayload(4 * (50 - round))
            #expect(payloads(try client.decode(server.encode(response)), sentLengths: [response.count], padded: padded) == [response])
        }
    }
}
