import MTProtoCrypto
import MTProtoTL
import Testing
@testable import MTProto

/// A client and a fake DC wired back to back in memory, with fixed clocks, and helpers to
/// walk the exchange one packet at a time (so tests can tamper with any of them).
struct HandshakeHarness {
    static let clientTime = 1_700_000_000.25
    static let dcId: Int32 = 10_002

    let client: ClientHandshake
    let server: ServerHandshake

    init(
        serverClockAhead: Double = 0,
        clientRandom: @escaping @Sendable (Int) -> [UInt8] = SecureRandom.bytes,
        maxRetries: Int = 5,
        dhPrime: [UInt8] = DiffieHellman.telegramPrime,
        isKeyUsable: @escaping @Sendable (AuthKey) -> Bool = { _ in true }
    ) {
        client = ClientHandshake(
            rsaKeys: [HandshakeFixtures.telegram2013Key, HandshakeFixtures.serverKey.publicKey], dcId: Self.dcId,
            now: { Self.clientTime }, random: clientRandom, maxRetries: maxRetries)
        server = ServerHandshake(
            privateKeys: [HandshakeFixtures.serverKey], dhPrime: dhPrime,
            now: { Self.clientTime + serverClockAhead }, isKeyUsable: isKeyUsable)
    }

    /// The packets of one run, captured as far as it got.
    struct Transcript {
        var reqPQ: [UInt8] = []
        var resPQ: [UInt8] = []
        var reqDHParams: [UInt8] = []
        var serverDHParams: [UInt8] = []
        var setClientDHParams: [UInt8] = []
    }

    /// Runs up to and including the client's set_client_DH_params.
    func runToSetClientDHParams() throws -> Transcript {
        var transcript = Transcript()
        transcript.reqPQ = client.start()
        transcript.resPQ = try Self.sent(server.receive(transcript.reqPQ))
        transcript.reqDHParams = try Self.sent(client.receive(transcript.resPQ))
        transcript.serverDHParams = try Self.sent(server.receive(transcript.reqDHParams))
        transcript.setClientDHParams = try Self.sent(client.receive(transcript.serverDHParams))
        return transcript
    }

    /// Runs the whole exchange, following any dh_gen_retry, and returns both sides' results.
    @discardableResult
    func run() throws -> (client: HandshakeResult, serverKey: AuthKey, serverSalt: Int64, transcript: Transcript) {
        let transcript = try runToSetClientDHParams()
        var toServer = transcript.setClientDHParams
        while true {
            switch try server.receive(toServer) {
            case .send(let packet):
                toServer = try Self.sent(client.receive(packet))
            case .done(let key, let salt, let packet):
                guard case .done(let result, let extra) = try client.receive(packet) else {
                    throw HandshakeHarnessFailure("client not done after dh_gen_ok")
                }
                #expect(extra == nil)
                return (result, key, salt, transcript)
            }
        }
    }

    static func sent(_ step: HandshakeStep) throws -> [UInt8] {
        guard case .send(let packet) = step else { throw HandshakeHarnessFailure("expected a packet, the client is done") }
        return packet
    }

    static func sent(_ step: ServerHandshakeStep) throws -> [UInt8] {
        guard case .send(let packet) = step else { throw HandshakeHarnessFailure("expected a packet, the server is done") }
        return packet
    }

    static func body(_ packet: [UInt8]) throws -> [UInt8] { try PlainMessage.decode(packet).body }

    /// The resPQ of a transcript (its nonce and server_nonce).
    static func resPQ(_ transcript: Transcript) throws -> MT.Types.ResPQ {
        switch try MT.ResPQ(tlBytes: body(transcript.resPQ)) {
        case .resPQ(let value): return value
        }
    }

    static func messageId(_ packet: [UInt8]) throws -> Int64 { try PlainMessage.decode(packet).messageId }

    /// `packet` with its body replaced, keeping the message id.
    static func repack(_ packet: [UInt8], body: [UInt8]) throws -> [UInt8] {
        PlainMessage.encode(messageId: try messageId(packet), body: body)
    }

    /// `packet` with one body byte inverted.
    static func flipping(_ packet: [UInt8], bodyByte index: Int) throws -> [UInt8] {
        var body = try body(packet)
        body[index] ^= 0xff
        return try repack(packet, body: body)
    }
}

struct HandshakeHarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
