import MTProtoCrypto
import MTProtoTL
import Testing
import TLRuntime
@testable import MTProto

@Suite struct PlainMessageTests {
    @Test func roundTripsAndIgnoresTrailingPadding() throws {
        let body: [UInt8] = [0xf1, 0x8e, 0x7e, 0xbe] + Array(repeating: 7, count: 16)
        let packet = PlainMessage.encode(messageId: 0x51e5_7ac4_2770_964a, body: body)
        #expect(packet.count == 40)
        #expect(Array(packet[0..<20]) == HandshakeFixtures.hex("0000000000000000 4A967027C47AE551 14000000"))
        let decoded = try PlainMessage.decode(packet + [1, 2, 3, 4, 5])
        #expect(decoded.messageId == 0x51e5_7ac4_2770_964a)
        #expect(decoded.body == body)
    }

    @Test func rejectsMalformedPackets() {
        let packet = PlainMessage.encode(messageId: 4, body: [1, 2, 3, 4])
        #expect(throws: PlainMessageError.truncated(length: 19)) { try PlainMessage.decode(Array(packet.prefix(19))) }
        #expect(throws: PlainMessageError.lengthMismatch(declared: 4, actual: 3)) {
            try PlainMessage.decode(Array(packet.dropLast()))
        }
        var encrypted = packet
        encrypted[0] = 1
        #expect(throws: PlainMessageError.notPlain(authKeyId: 1)) { try PlainMessage.decode(encrypted) }
        var negative = packet
        negative[16..<20] = [0xff, 0xff, 0xff, 0xff]
        #expect(throws: PlainMessageError.lengthMismatch(declared: -1, actual: 4)) { try PlainMessage.decode(negative) }
    }
}

@Suite struct HandshakeTests {
    typealias H = HandshakeHarness

    // MARK: Whole exchanges

    @Test func clientAndServerAgreeOnKeyAndSalt() throws {
        let harness = H()
        let transcript = try harness.runToSetClientDHParams()
        for packet in [transcript.reqPQ, transcript.reqDHParams, transcript.setClientDHParams] {
            #expect(try H.messageId(packet) % 4 == 0)
        }
        for packet in [transcript.resPQ, transcript.serverDHParams] {
            #expect(try H.messageId(packet) % 4 == 1)
        }
        guard case .done(let serverKey, let serverSalt, let dhGenOk) = try harness.server.receive(transcript.setClientDHParams),
              case .done(let result, .none) = try harness.client.receive(dhGenOk) else {
            Issue.record("exchange did not finish")
            return
        }
        #expect(result.authKey == serverKey)
        #expect(result.authKey.bytes.count == 256)
        #expect(result.serverSalt == serverSalt)
        // server_time is whole seconds: the server's clock reads 1_700_000_000.25.
        #expect(result.timeOffset == -0.25)
        #expect(harness.server.requestedDcId == H.dcId)
        #expect(harness.server.requestedExpiresIn == nil)
    }

    @Test func honoursTheServerClock() throws {
        let harness = H(serverClockAhead: 1000)
        let transcript = try harness.runToSetClientDHParams()
        // Message ids after server_DH_inner_data already follow the server's clock.
        let setClientTime = MessageIdGenerator.time(of: try H.messageId(transcript.setClientDHParams))
        #expect(abs(setClientTime - (H.clientTime + 999.75)) < 0.001)
        guard case .done(_, _, let dhGenOk) = try harness.server.receive(transcript.setClientDHParams),
              case .done(let result, _) = try harness.client.receive(dhGenOk) else {
            Issue.record("exchange did not finish")
            return
        }
        #expect(result.timeOffset == 999.75)
    }

    @Test func saltIsNewNonceXorServerNonce() throws {
        let newNonce = SecureRandom.bytes(32)
        let script = HandshakeScriptedRandom([SecureRandom.bytes(16), newNonce])
        let harness = H(clientRandom: script.bytes)
        let result = try harness.run()
        let serverNonce = try H.resPQ(result.transcript).serverNonce.bytes
        let xor = zip(newNonce.prefix(8), serverNonce.prefix(8)).map { $0 ^ $1 }
        #expect(result.client.serverSalt == xor.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) })
        #expect(result.serverSalt == result.client.serverSalt)
    }

    // MARK: Fingerprints

    @Test func clientNeedsAKeyForOneOfTheServersFingerprints() throws {
        let client = ClientHandshake(rsaKeys: [HandshakeFixtures.telegram2013Key], dcId: 2, now: { H.clientTime })
        let server = ServerHandshake(privateKeys: [HandshakeFixtures.serverKey], now: { H.clientTime })
        let resPQ = try H.sent(server.receive(client.start()))
        #expect(throws: HandshakeError.noKnownFingerprint([HandshakeFixtures.serverKey.publicKey.fingerprint])) {
            try client.receive(resPQ)
        }
    }

    @Test func serverRejectsAFingerprintItHasNoKeyFor() throws {
        let harness = H()
        let reqPQ = harness.client.start()
        let reqDHParams = try H.sent(harness.client.receive(H.sent(harness.server.receive(reqPQ))))
        var body = try H.body(reqDHParams)
        withUnsafeBytes(of: HandshakeFixtures.telegram2013Fingerprint.littleEndian) { body[52..<60] = ArraySlice($0) }
        #expect(throws: HandshakeError.unknownFingerprint(HandshakeFixtures.telegram2013Fingerprint)) {
            try harness.server.receive(H.repack(reqDHParams, body: body))
        }
    }

    // MARK: Tampering, client side

    @Test func clientChecksTheNonceOfResPQ() throws {
        let harness = H()
        let resPQ = try H.sent(harness.server.receive(harness.client.start()))
        #expect(throws: HandshakeError.nonceMismatch) { try harness.client.receive(H.flipping(resPQ, bodyByte: 4)) }
    }

    @Test(arguments: [(4, HandshakeError.nonceMismatch), (20, .serverNonceMismatch), (100, .answerHashMismatch)])
    func clientChecksServerDHParams(byte: Int, error: HandshakeError) throws {
        let harness = H()
        let resPQ = try H.sent(harness.server.receive(harness.client.start()))
        let serverDHParams = try H.sent(harness.server.receive(H.sent(harness.client.receive(resPQ))))
        #expect(throws: error) { try harness.client.receive(H.flipping(serverDHParams, bodyByte: byte)) }
    }

    @Test(arguments: [(4, HandshakeError.nonceMismatch), (20, .serverNonceMismatch), (40, .newNonceHashMismatch)])
    func clientChecksDhGenOk(byte: Int, error: HandshakeError) throws {
        let harness = H()
        let transcript = try harness.runToSetClientDHParams()
        guard case .done(_, _, let dhGenOk) = try harness.server.receive(transcript.setClientDHParams) else {
            Issue.record("server did not finish")
            return
        }
        #expect(throws: error) { try harness.client.receive(H.flipping(dhGenOk, bodyByte: byte)) }
    }

    @Test func clientChecksTheDHPrime() throws {
        var composite = DiffieHellman.telegramPrime
        composite[255] += 6  // still odd, 2048 bits and 2 mod 3, but not prime
        let harness = H(dhPrime: composite)
        #expect(throws: HandshakeError.crypto(.dhCheckFailed("p is not prime"))) { try harness.runToSetClientDHParams() }
    }

    @Test func clientChecksServerDHParamsFail() throws {
        let newNonce = SecureRandom.bytes(32)
        for (hash, error) in [(Array(SHA1.hash(newNonce)[4...]), HandshakeError.dhParamsFail),
                              (Array(SHA1.hash(newNonce)[0..<16]), .newNonceHashMismatch)] {
            let harness = H(clientRandom: HandshakeScriptedRandom([SecureRandom.bytes(16), newNonce]).bytes)
            let resPQ = try H.sent(harness.server.receive(harness.client.start()))
            let reqDHParams = try H.sent(harness.client.receive(resPQ))
            let request = try MT.Functions.ReqDHParams(tlBytes: H.body(reqDHParams))
            let fail = try #require(TLInt128(hash))
            let answer = MT.Types.ServerDHParamsFail(nonce: request.nonce, serverNonce: request.serverNonce, newNonceHash: fail)
            #expect(throws: error) { try harness.client.receive(H.repack(resPQ, body: answer.serialized())) }
        }
    }

    @Test func clientReportsAVerifiedDhGenFail() throws {
        let newNonce = SecureRandom.bytes(32)
        let harness = H(clientRandom: HandshakeScriptedRandom([SecureRandom.bytes(16), newNonce]).bytes)
        let transcript = try harness.runToSetClientDHParams()
        guard case .done(let key, _, let dhGenOk) = try harness.server.receive(transcript.setClientDHParams) else {
            Issue.record("server did not finish")
            return
        }
        let resPQ = try H.resPQ(transcript)
        let fail = MT.Types.DhGenFail(
            nonce: resPQ.nonce, serverNonce: resPQ.serverNonce, newNonceHash3: try Self.newNonceHash(newNonce, 3, key))
        #expect(throws: HandshakeError.dhGenFail) { try harness.client.receive(H.repack(dhGenOk, body: fail.serialized())) }
    }

    // MARK: dh_gen_retry

    @Test func followsDhGenRetryToAFreshKey() throws {
        let attempts = HandshakeCounter()
        let harness = H(isKeyUsable: { _ in attempts.increment() > 1 })
        let result = try harness.run()
        #expect(attempts.count == 2)
        #expect(result.client.authKey == result.serverKey)
        #expect(result.client.serverSalt == result.serverSalt)
    }

    @Test func retryCarriesTheRejectedKeysAuxHashAndANewB() throws {
        let newNonce = SecureRandom.bytes(32)
        let harness = H(clientRandom: HandshakeScriptedRandom([SecureRandom.bytes(16), newNonce]).bytes)
        let transcript = try harness.runToSetClientDHParams()
        guard case .done(let rejected, _, let dhGenOk) = try harness.server.receive(transcript.setClientDHParams) else {
            Issue.record("server did not finish")
            return
        }
        let resPQ = try H.resPQ(transcript)
        let retry = MT.Types.DhGenRetry(
            nonce: resPQ.nonce, serverNonce: resPQ.serverNonce, newNonceHash2: try Self.newNonceHash(newNonce, 2, rejected))
        let second = try H.sent(harness.client.receive(H.repack(dhGenOk, body: retry.serialized())))

        let cipher = HandshakeCipher(newNonce: try #require(TLInt256(newNonce)), serverNonce: resPQ.serverNonce)
        func innerData(_ packet: [UInt8]) throws -> MT.Types.ClientDHInnerData {
            let request = try MT.Functions.SetClientDHParams(tlBytes: H.body(packet))
            return try MT.Types.ClientDHInnerData(tlBytes: cipher.open(request.encryptedData))
        }
        let first = try innerData(transcript.setClientDHParams)
        let retried = try innerData(second)
        #expect(first.retryId == 0)
        #expect(retried.retryId == rejected.auxHash.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) })
        #expect(retried.gB != first.gB)
        #expect(try H.messageId(second) > H.messageId(transcript.setClientDHParams))
    }

    @Test func givesUpAfterMaxRetries() throws {
        let harness = H(maxRetries: 2, isKeyUsable: { _ in false })
        #expect(throws: HandshakeError.tooManyRetries(2)) { try harness.run() }
    }

    // MARK: Tampering, server side

    @Test func serverChecksReqDHParams() throws {
        // (body byte to flip, error): nonce, server_nonce, p, encrypted_data.
        for (byte, error) in [(4, HandshakeError.nonceMismatch), (20, .serverNonceMismatch), (37, .pqMismatch),
                              (100, .rsaDecryptionFailed)] {
            let harness = H()
            let resPQ = try H.sent(harness.server.receive(harness.client.start()))
            let reqDHParams = try H.sent(harness.client.receive(resPQ))
            #expect(throws: error) { try harness.server.receive(H.flipping(reqDHParams, bodyByte: byte)) }
        }
    }

    @Test func serverAnswersDhGenFailWhenTheInnerDataHashIsBad() throws {
        let harness = H()
        let transcript = try harness.runToSetClientDHParams()
        let tampered = try H.flipping(transcript.setClientDHParams, bodyByte: 50)
        let answer = try MT.SetClientDHParamsAnswer(tlBytes: H.body(H.sent(harness.server.receive(tampered))))
        guard case .dhGenFail = answer else {
            Issue.record("expected dh_gen_fail, got \(answer)")
            return
        }
        // No key was agreed, so the client cannot verify new_nonce_hash3 either way.
        #expect(throws: HandshakeError.newNonceHashMismatch) {
            try harness.client.receive(H.repack(transcript.serverDHParams, body: answer.serialized()))
        }
        // The server's exchange is over: the genuine request comes too late.
        #expect(throws: HandshakeError.unexpectedAnswer(constructorId: MT.Functions.SetClientDHParams.constructorId)) {
            try harness.server.receive(transcript.setClientDHParams)
        }
    }

    @Test func serverAnswersDhGenFailToAWrongRetryId() throws {
        let newNonce = SecureRandom.bytes(32)
        let harness = H(clientRandom: HandshakeScriptedRandom([SecureRandom.bytes(16), newNonce]).bytes)
        let transcript = try harness.runToSetClientDHParams()
        let resPQ = try H.resPQ(transcript)
        let cipher = HandshakeCipher(newNonce: try #require(TLInt256(newNonce)), serverNonce: resPQ.serverNonce)
        let ok = try MT.Types.ServerDHParamsOk(tlBytes: H.body(transcript.serverDHParams))
        let serverInner = try MT.Types.ServerDHInnerData(tlBytes: cipher.open(ok.encryptedAnswer))

        // Our own b, so the test knows the key the server will compute.
        let b = SecureRandom.bytes(256)
        let gB = try BigNumber.leftPadded(BigNumber.modExp([3], b, serverInner.dhPrime), to: 256)
        let key = try #require(AuthKey(BigNumber.leftPadded(BigNumber.modExp(serverInner.gA, b, serverInner.dhPrime), to: 256)))
        let inner = MT.Types.ClientDHInnerData(nonce: resPQ.nonce, serverNonce: resPQ.serverNonce, retryId: 42, gB: gB)
        let request = MT.Functions.SetClientDHParams(
            nonce: resPQ.nonce, serverNonce: resPQ.serverNonce,
            encryptedData: try cipher.seal(inner.serialized(), random: HandshakeRandom(SecureRandom.bytes)))
        let answer = try MT.SetClientDHParamsAnswer(
            tlBytes: H.body(H.sent(harness.server.receive(H.repack(transcript.setClientDHParams, body: request.serialized())))))
        guard case .dhGenFail(let fail) = answer else {
            Issue.record("expected dh_gen_fail, got \(answer)")
            return
        }
        #expect(fail.newNonceHash3 == (try Self.newNonceHash(newNonce, 3, key)))
    }

    // MARK: Server variants

    @Test func serverAcceptsReqPqAndTheOldRSASchemeWithPlainInnerData() throws {
        let server = ServerHandshake(privateKeys: [HandshakeFixtures.serverKey], now: { H.clientTime })
        let nonce = try #require(TLInt128(SecureRandom.bytes(16)))
        let resPQBody = try H.body(H.sent(server.receive(PlainMessage.encode(
            messageId: 4 << 32, body: MT.Functions.ReqPq(nonce: nonce).serialized()))))
        let resPQ = try Self.unbox(MT.ResPQ(tlBytes: resPQBody))
        let (p, q) = try PQFactorization.split(pqBytes: resPQ.pq)
        let newNonce = try #require(TLInt256(SecureRandom.bytes(32)))
        let inner = MT.Types.PQInnerData(pq: resPQ.pq, p: p, q: q, nonce: nonce, serverNonce: resPQ.serverNonce, newNonce: newNonce)
        let key = HandshakeFixtures.serverKey.publicKey
        let request = MT.Functions.ReqDHParams(
            nonce: nonce, serverNonce: resPQ.serverNonce, p: p, q: q, publicKeyFingerprint: key.fingerprint,
            encryptedData: try RSAPad.encryptOld(inner.serialized(), with: key))
        let answer = try MT.ServerDHParams(tlBytes: H.body(H.sent(server.receive(
            PlainMessage.encode(messageId: 8 << 32, body: request.serialized())))))
        guard case .serverDHParamsOk(let ok) = answer else {
            Issue.record("expected server_DH_params_ok, got \(answer)")
            return
        }
        let serverInner = try MT.Types.ServerDHInnerData(
            tlBytes: HandshakeCipher(newNonce: newNonce, serverNonce: resPQ.serverNonce).open(ok.encryptedAnswer))
        #expect(serverInner.nonce == nonce)
        #expect(serverInner.serverTime == 1_700_000_000)
        #expect(serverInner.g == 3 && serverInner.dhPrime == DiffieHellman.telegramPrime)
        #expect(server.requestedDcId == nil)
    }

    @Test func serverRecordsTempDcInnerData() throws {
        let server = ServerHandshake(privateKeys: [HandshakeFixtures.serverKey], now: { H.clientTime })
        let nonce = try #require(TLInt128(SecureRandom.bytes(16)))
        let resPQBody = try H.body(H.sent(server.receive(PlainMessage.encode(
            messageId: 4 << 32, body: MT.Functions.ReqPqMulti(nonce: nonce).serialized()))))
        let resPQ = try Self.unbox(MT.ResPQ(tlBytes: resPQBody))
        let (p, q) = try PQFactorization.split(pqBytes: resPQ.pq)
        let inner = MT.Types.PQInnerDataTempDc(
            pq: resPQ.pq, p: p, q: q, nonce: nonce, serverNonce: resPQ.serverNonce,
            newNonce: try #require(TLInt256(SecureRandom.bytes(32))), dc: -4, expiresIn: 86_400)
        let key = HandshakeFixtures.serverKey.publicKey
        let request = MT.Functions.ReqDHParams(
            nonce: nonce, serverNonce: resPQ.serverNonce, p: p, q: q, publicKeyFingerprint: key.fingerprint,
            encryptedData: try RSAPad.encrypt(inner.serialized(), with: key))
        _ = try H.sent(server.receive(PlainMessage.encode(messageId: 8 << 32, body: request.serialized())))
        #expect(server.requestedDcId == -4)
        #expect(server.requestedExpiresIn == 86_400)
    }

    @Test func serverRepeatsItsAnswerToARepeatedRequest() throws {
        let harness = H()
        let reqPQ = harness.client.start()
        let first = try H.sent(harness.server.receive(reqPQ))
        let second = try H.sent(harness.server.receive(reqPQ))
        #expect(try H.body(first) == H.body(second))
        #expect(try H.messageId(second) > H.messageId(first))
        // A new request (new nonce) starts over with a new challenge.
        let third = try H.sent(harness.server.receive(harness.client.start()))
        #expect(try Array(H.body(third)[20..<36]) != Array(H.body(first)[20..<36]))
        _ = try H.sent(harness.client.receive(third))
    }

    @Test func serverProofOfWorkLooksLikeTelegrams() throws {
        let random = HandshakeRandom(SecureRandom.bytes)
        for _ in 0..<20 {
            let work = HandshakeProofOfWork.generate(random: random)
            #expect(work.p < work.q)
            #expect(work.pq >= 1 << 60 && work.pq < 1 << 62)
            let (p, q) = try PQFactorization.factorize(work.pq)
            #expect(p == work.p && q == work.q)
        }
        #expect(HandshakeProofOfWork.isPrime(0x494C_553B) && HandshakeProofOfWork.isPrime(0x5391_1073))
        #expect(HandshakeProofOfWork.isPrime(2_147_483_647))
        #expect(!HandshakeProofOfWork.isPrime(0x494C_553B * 3) && !HandshakeProofOfWork.isPrime(1))
        // Carmichael numbers and strong pseudoprimes to bases 2, 3, 5 and 7.
        for composite: UInt32 in [561, 1105, 1729, 2047, 3277, 8321, 1_373_653, 25_326_001, 3_215_031_751] {
            #expect(!HandshakeProofOfWork.isPrime(composite))
            #expect(!Self.trialDivisionIsPrime(composite))
        }
    }

    // MARK: Wrong state, garbage, truncation

    @Test func messagesInTheWrongStateAreRejected() throws {
        let harness = H()
        let reqPQ = harness.client.start()
        let resPQ = try H.sent(harness.server.receive(reqPQ))

        let idle = ClientHandshake(rsaKeys: [HandshakeFixtures.serverKey.publicKey], dcId: 2, now: { H.clientTime })
        #expect(throws: HandshakeError.unexpectedAnswer(constructorId: MT.Types.ResPQ.constructorId)) { try idle.receive(resPQ) }
        // Our own request comes back: a client-side (even) message id.
        #expect(throws: HandshakeError.invalidMessageId(try H.messageId(reqPQ))) { try harness.client.receive(reqPQ) }

        let fresh = ServerHandshake(privateKeys: [HandshakeFixtures.serverKey], now: { H.clientTime })
        #expect(throws: HandshakeError.invalidMessageId(try H.messageId(resPQ))) { try fresh.receive(resPQ) }

        let complete = H()
        let transcript = try complete.runToSetClientDHParams()
        let early = ServerHandshake(privateKeys: [HandshakeFixtures.serverKey], now: { H.clientTime })
        #expect(throws: HandshakeError.unexpectedAnswer(constructorId: MT.Functions.ReqDHParams.constructorId)) {
            try early.receive(transcript.reqDHParams)
        }
        #expect(throws: HandshakeError.unexpectedAnswer(constructorId: MT.Functions.SetClientDHParams.constructorId)) {
            try early.receive(transcript.setClientDHParams)
        }
        let waiting = ClientHandshake(rsaKeys: [HandshakeFixtures.serverKey.publicKey], dcId: 2, now: { H.clientTime })
        _ = waiting.start()
        #expect(throws: HandshakeError.unexpectedAnswer(constructorId: MT.Types.ServerDHParamsOk.constructorId)) {
            try waiting.receive(transcript.serverDHParams)
        }

        guard case .done(_, _, let dhGenOk) = try complete.server.receive(transcript.setClientDHParams),
              case .done = try complete.client.receive(dhGenOk) else {
            Issue.record("exchange did not finish")
            return
        }
        #expect(throws: HandshakeError.unexpectedAnswer(constructorId: MT.Types.DhGenOk.constructorId)) {
            try complete.client.receive(dhGenOk)
        }
        #expect(throws: HandshakeError.unexpectedAnswer(constructorId: MT.Functions.ReqPqMulti.constructorId)) {
            try complete.server.receive(complete.client.start())
        }
        // A lost dh_gen_ok is sent again for the identical request.
        let again = try H.sent(complete.server.receive(transcript.setClientDHParams))
        #expect(try H.body(again) == H.body(dhGenOk))
    }

    @Test func garbageIsATypedErrorOnEitherSide() throws {
        var generator = HandshakeSplitMix(seed: 0x5eed)
        let constructors: [UInt32] = [
            MT.Types.ResPQ.constructorId, MT.Types.ServerDHParamsOk.constructorId, MT.Types.ServerDHParamsFail.constructorId,
            MT.Types.DhGenOk.constructorId, MT.Types.DhGenRetry.constructorId, MT.Types.DhGenFail.constructorId,
            MT.Functions.ReqPqMulti.constructorId, MT.Functions.ReqPq.constructorId,
            MT.Functions.ReqDHParams.constructorId, MT.Functions.SetClientDHParams.constructorId,
        ]
        func garbage(messageId: Int64) -> [[UInt8]] {
            let raw = generator.bytes(Int(generator.next() % 400))
            var body = withUnsafeBytes(of: constructors[Int(generator.next() % UInt64(constructors.count))].littleEndian, Array.init)
            body += generator.bytes(Int(generator.next() % 600))
            return [raw, PlainMessage.encode(messageId: messageId, body: body)]
        }
        for _ in 0..<150 {
            let client = ClientHandshake(rsaKeys: [HandshakeFixtures.serverKey.publicKey], dcId: 2, now: { H.clientTime })
            _ = client.start()
            for packet in garbage(messageId: 1 << 32 | 1) {
                #expect(throws: HandshakeError.self) { try client.receive(packet) }
            }
            let server = ServerHandshake(privateKeys: [HandshakeFixtures.serverKey], now: { H.clientTime })
            for packet in garbage(messageId: 1 << 32) where (try? server.receive(packet)) != nil {
                // Only what parses as req_pq / req_pq_multi can be accepted in the first step.
                let constructorId = try H.body(packet).prefix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                #expect([MT.Functions.ReqPq.constructorId, MT.Functions.ReqPqMulti.constructorId].contains(constructorId))
            }
        }
        // Deeper states: every garbage packet ends the exchange with an error, never a trap.
        for _ in 0..<4 {
            let harness = H()
            let transcript = try harness.runToSetClientDHParams()
            for packet in garbage(messageId: 1 << 32 | 1) {
                #expect(throws: HandshakeError.self) { try harness.client.receive(packet) }
            }
            for packet in garbage(messageId: 1 << 32) + [try H.repack(transcript.setClientDHParams, body: [])] {
                _ = try? harness.server.receive(packet)
            }
        }
    }

    @Test func truncatedPacketsAreTypedErrors() throws {
        let nonce = SecureRandom.bytes(16)
        let server = ServerHandshake(privateKeys: [HandshakeFixtures.serverKey], now: { H.clientTime })
        let makeClient = {
            let client = ClientHandshake(
                rsaKeys: [HandshakeFixtures.serverKey.publicKey], dcId: 2, now: { H.clientTime },
                random: HandshakeScriptedRandom([nonce]).bytes)
            return (client, client.start())
        }
        let resPQ = try H.sent(server.receive(makeClient().1))
        let body = try H.body(resPQ)
        for length in 0..<resPQ.count {
            #expect(throws: HandshakeError.self) { try makeClient().0.receive(Array(resPQ.prefix(length))) }
        }
        for length in 0..<body.count {
            let packet = try H.repack(resPQ, body: Array(body.prefix(length)))
            #expect(throws: HandshakeError.self) { try makeClient().0.receive(packet) }
        }
        // The server side, on a truncated req_pq_multi and req_DH_params.
        let harness = H()
        let reqPQ = harness.client.start()
        for length in 0..<(try H.body(reqPQ).count) {
            let fresh = ServerHandshake(privateKeys: [HandshakeFixtures.serverKey], now: { H.clientTime })
            #expect(throws: HandshakeError.self) { try fresh.receive(H.repack(reqPQ, body: Array(H.body(reqPQ).prefix(length)))) }
        }
        let reqDHParams = try H.sent(harness.client.receive(H.sent(harness.server.receive(reqPQ))))
        #expect(throws: HandshakeError.self) {
            try harness.server.receive(H.repack(reqDHParams, body: Array(H.body(reqDHParams).prefix(200))))
        }
    }

    // MARK: Known answers (https://core.telegram.org/mtproto/samples-auth_key)

    /// The 2013 revision: the client's req_DH_params for the page's resPQ carries the page's
    /// p, q and fingerprint (encrypted_data differs: RSA_PAD is randomized).
    @Test func buildsTheSamplePagesReqDHParams() throws {
        let script = HandshakeScriptedRandom([HandshakeSample2013.nonce, HandshakeSample2013.newNonce])
        let client = ClientHandshake(
            rsaKeys: [HandshakeFixtures.serverKey.publicKey, HandshakeFixtures.telegram2013Key], dcId: 2,
            now: { 1_374_060_000 }, random: script.bytes)
        #expect(try H.body(client.start()) == HandshakeFixtures.hex("F18E7EBE") + HandshakeSample2013.nonce)
        let body = try H.body(H.sent(client.receive(HandshakeSample2013.resPQPacket)))
        #expect(script.isUsedUp)
        #expect(Array(body.prefix(HandshakeSample2013.reqDHParamsPrefix.count)) == HandshakeSample2013.reqDHParamsPrefix)
        let request = try MT.Functions.ReqDHParams(tlBytes: body)
        #expect(request.p == HandshakeFixtures.hex("494C553B") && request.q == HandshakeFixtures.hex("53911073"))
        #expect(request.publicKeyFingerprint == HandshakeFixtures.telegram2013Fingerprint)
        #expect(request.encryptedData.count == 256)
    }

    /// The current revision, steps 3-9, with the page's nonces, b and padding: the client's
    /// p_q_inner_data_dc, its set_client_DH_params and the auth key are the page's, byte for byte.
    @Test func reproducesTheSamplePagesExchange() throws {
        typealias S = HandshakeSampleCurrent
        let script = HandshakeScriptedRandom([S.nonce, S.newNonce, S.b, S.clientDHPadding])
        let client = ClientHandshake(
            rsaKeys: [HandshakeFixtures.serverKey.publicKey], dcId: 2, now: { H.clientTime }, random: script.bytes)
        _ = client.start()
        let nonce = try #require(TLInt128(S.nonce)), serverNonce = try #require(TLInt128(S.serverNonce))
        let resPQ = MT.Types.ResPQ(
            nonce: nonce, serverNonce: serverNonce, pq: S.pq,
            serverPublicKeyFingerprints: [0x0bc3_5f35_09f7_b7a5, HandshakeFixtures.serverKey.publicKey.fingerprint])
        let reqDHParams = try H.sent(client.receive(PlainMessage.encode(messageId: 1 << 32 | 1, body: resPQ.serialized())))

        let request = try MT.Functions.ReqDHParams(tlBytes: H.body(reqDHParams))
        let innerData = try RSAPad.decrypt(request.encryptedData, with: HandshakeFixtures.serverKey)
        let expectedInner = MT.Types.PQInnerDataDc(
            pq: S.pq, p: HandshakeFixtures.hex("5A300D4B"), q: HandshakeFixtures.hex("6A26DB65"), nonce: nonce,
            serverNonce: serverNonce, newNonce: try #require(TLInt256(S.newNonce)), dc: 2).serialized()
        #expect(Array(innerData.prefix(expectedInner.count)) == expectedInner)

        let ok = MT.Types.ServerDHParamsOk(nonce: nonce, serverNonce: serverNonce, encryptedAnswer: S.encryptedAnswer)
        let setClient = try H.sent(client.receive(PlainMessage.encode(messageId: 2 << 32 | 1, body: ok.serialized())))
        #expect(script.isUsedUp)
        #expect(try MT.Functions.SetClientDHParams(tlBytes: H.body(setClient)).encryptedData == S.clientDHEncrypted)

        let auxHash = Array(SHA1.hash(S.authKey)[0..<8])
        let hash1 = try #require(TLInt128(Array(SHA1.hash(S.newNonce + [1] + auxHash)[4...])))
        let dhGenOk = MT.Types.DhGenOk(nonce: nonce, serverNonce: serverNonce, newNonceHash1: hash1)
        guard case .done(let result, _) = try client.receive(PlainMessage.encode(messageId: 3 << 32 | 1, body: dhGenOk.serialized())) else {
            Issue.record("client did not finish")
            return
        }
        #expect(result.authKey.bytes == S.authKey)
        let salt = zip(S.newNonce.prefix(8), S.serverNonce.prefix(8)).map { $0 ^ $1 }
        #expect(result.serverSalt == salt.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) })
    }

    // MARK: Helpers

    static func unbox(_ resPQ: MT.ResPQ) -> MT.Types.ResPQ {
        switch resPQ {
        case .resPQ(let value): return value
        }
    }

    /// new_nonce_hash1/2/3, computed independently of the code under test.
    static func newNonceHash(_ newNonce: [UInt8], _ number: UInt8, _ key: AuthKey) throws -> TLInt128 {
        try #require(TLInt128(Array(SHA1.hash(newNonce + [number] + Array(SHA1.hash(key.bytes)[0..<8]))[4...])))
    }

    static func trialDivisionIsPrime(_ n: UInt32) -> Bool {
        if n < 2 { return false }
        var d: UInt32 = 2
        while UInt64(d) * UInt64(d) <= UInt64(n) {
            if n % d == 0 { return false }
            d += 1
        }
        return true
    }
}

/// A small deterministic generator so garbage tests are reproducible.
struct HandshakeSplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
