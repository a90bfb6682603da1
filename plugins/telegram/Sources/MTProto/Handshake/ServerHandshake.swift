import MTProtoCrypto
import MTProtoTL
import TLRuntime

/// The data center side of the auth key exchange (https://core.telegram.org/mtproto/auth_key),
/// for the fake DC: answers req_pq / req_pq_multi, req_DH_params and set_client_DH_params
/// until `.done`. No I/O; the clock and randomness are injected. Not thread-safe.
///
/// A thrown `HandshakeError` is the protocol's "-404": the caller reports it to the client
/// (transport error) and drops the connection, or waits for a new req_pq, which starts over.
/// A request identical to the previous one is answered with the same response again
/// ("Error Handling (Lost Queries and Responses)"), in any state.
public final class ServerHandshake: @unchecked Sendable {
    private let keys: [Int64: RSAPrivateKey]
    private let dhPrime: [UInt8]
    private let g: Int32
    private let now: @Sendable () -> Double
    private let random: HandshakeRandom
    private let isKeyUsable: @Sendable (AuthKey) -> Bool
    private var messageIds = MessageIdGenerator()
    private var state: State = .awaitingReqPQ
    private var lastExchange: (request: [UInt8], response: [UInt8])?

    /// The `dc` the client asked for in p_q_inner_data_dc / _temp_dc (nil for the plain variants).
    public private(set) var requestedDcId: Int32?
    /// `expires_in` of p_q_inner_data_temp / _temp_dc: the client wants a temporary key.
    public private(set) var requestedExpiresIn: Int32?

    private struct Challenge {
        let nonce: TLInt128
        let serverNonce: TLInt128
        let proofOfWork: HandshakeProofOfWork
    }

    private struct Exchange {
        let nonce: TLInt128
        let serverNonce: TLInt128
        let newNonce: TLInt256
        let a: [UInt8]
        /// 0 on the first set_client_DH_params; the rejected key's aux hash after dh_gen_retry.
        let expectedRetryId: Int64
    }

    private enum State {
        case awaitingReqPQ
        case awaitingReqDHParams(Challenge)
        case awaitingClientDHParams(Exchange)
        case finished
        case failed
    }

    /// - Parameters:
    ///   - privateKeys: the RSA keys whose fingerprints resPQ offers (2048-bit).
    ///   - dhPrime, g: the DH group sent in server_DH_inner_data (not checked here: a test
    ///     server may send a bad one on purpose).
    ///   - now: the unix time in seconds (server_time, message ids).
    ///   - random: secure random bytes (server_nonce, p and q, a, padding).
    ///   - isKeyUsable: whether a freshly agreed key may be kept; false answers dh_gen_retry
    ///     (Telegram does so when the key's auth_key_id is already taken).
    public init(
        privateKeys: [RSAPrivateKey], dhPrime: [UInt8] = DiffieHellman.telegramPrime, g: Int32 = 3,
        now: @escaping @Sendable () -> Double, random: @escaping @Sendable (Int) -> [UInt8] = SecureRandom.bytes,
        isKeyUsable: @escaping @Sendable (AuthKey) -> Bool = { _ in true }
    ) {
        keys = Dictionary(privateKeys.map { ($0.publicKey.fingerprint, $0) }, uniquingKeysWith: { first, _ in first })
        self.dhPrime = dhPrime
        self.g = g
        self.now = now
        self.random = HandshakeRandom(random)
        self.isKeyUsable = isKeyUsable
    }

    /// Handles one packet from the client. After `.done`, every new request is unexpected.
    public func receive(_ packet: [UInt8]) throws(HandshakeError) -> ServerHandshakeStep {
        let body = try HandshakeWire.open(packet, from: .client)
        if let lastExchange, lastExchange.request == body {
            return .send(self.packet(lastExchange.response))
        }
        let constructorId = try HandshakeWire.constructorId(of: body)
        let current = state
        if case .finished = current { throw .unexpectedAnswer(constructorId: constructorId) }
        state = .failed  // until a step succeeds: every failure is final
        let isReqPQ = constructorId == MT.Functions.ReqPqMulti.constructorId
            || constructorId == MT.Functions.ReqPq.constructorId
        let response: [UInt8]
        var key: AuthKey?
        switch current {
        case _ where isReqPQ:
            // Accepted at any point before the end: a client starts over with a new req_pq.
            response = try handleReqPQ(body, constructorId: constructorId)
        case .awaitingReqDHParams(let challenge) where constructorId == MT.Functions.ReqDHParams.constructorId:
            response = try handleReqDHParams(body, challenge: challenge)
        case .awaitingClientDHParams(let exchange) where constructorId == MT.Functions.SetClientDHParams.constructorId:
            (response, key) = try handleSetClientDHParams(body, exchange: exchange)
        default:
            throw .unexpectedAnswer(constructorId: constructorId)
        }
        lastExchange = (body, response)
        let packet = self.packet(response)
        guard let key, case .awaitingClientDHParams(let exchange) = current else { return .send(packet) }
        let salt = HandshakeHashes.serverSalt(newNonce: exchange.newNonce, serverNonce: exchange.serverNonce)
        return .done(authKey: key, serverSalt: salt, send: packet)
    }

    // MARK: Steps

    /// Steps 1-2: a new server_nonce and pq, and the fingerprints of our keys.
    private func handleReqPQ(_ body: [UInt8], constructorId: UInt32) throws(HandshakeError) -> [UInt8] {
        let nonce: TLInt128
        if constructorId == MT.Functions.ReqPqMulti.constructorId {
            nonce = try HandshakeWire.decode(MT.Functions.ReqPqMulti.self, from: body).nonce
        } else {
            nonce = try HandshakeWire.decode(MT.Functions.ReqPq.self, from: body).nonce
        }
        requestedDcId = nil
        requestedExpiresIn = nil
        let challenge = Challenge(nonce: nonce, serverNonce: random.int128(), proofOfWork: .generate(random: random))
        state = .awaitingReqDHParams(challenge)
        return MT.Types.ResPQ(
            nonce: nonce, serverNonce: challenge.serverNonce, pq: HandshakeProofOfWork.bytes(challenge.proofOfWork.pq),
            serverPublicKeyFingerprints: keys.keys.sorted()
        ).serialized()
    }

    /// Steps 5-6: check the proof of work, decrypt p_q_inner_data, answer server_DH_params_ok.
    private func handleReqDHParams(_ body: [UInt8], challenge: Challenge) throws(HandshakeError) -> [UInt8] {
        let request = try HandshakeWire.decode(MT.Functions.ReqDHParams.self, from: body)
        try check(nonce: request.nonce, serverNonce: request.serverNonce, against: challenge)
        try checkFactors(p: request.p, q: request.q, challenge: challenge)
        guard let key = keys[request.publicKeyFingerprint] else { throw .unknownFingerprint(request.publicKeyFingerprint) }
        let inner = try decryptInnerData(request.encryptedData, with: key)
        try check(nonce: inner.nonce, serverNonce: inner.serverNonce, against: challenge)
        guard HandshakeProofOfWork.value(inner.pq) == challenge.proofOfWork.pq else { throw .pqMismatch }
        try checkFactors(p: inner.p, q: inner.q, challenge: challenge)
        requestedDcId = inner.dc
        requestedExpiresIn = inner.expiresIn

        let (a, gA) = try HandshakeDiffieHellman.keyPair(prime: dhPrime, g: g, random: random)
        let answer = MT.Types.ServerDHInnerData(
            nonce: challenge.nonce, serverNonce: challenge.serverNonce, g: g, dhPrime: dhPrime, gA: gA,
            serverTime: HandshakeWire.unixTime(now()))
        let cipher = HandshakeCipher(newNonce: inner.newNonce, serverNonce: challenge.serverNonce)
        let encryptedAnswer = try cipher.seal(answer.serialized(), random: random)
        state = .awaitingClientDHParams(Exchange(
            nonce: challenge.nonce, serverNonce: challenge.serverNonce, newNonce: inner.newNonce, a: a, expectedRetryId: 0))
        return MT.Types.ServerDHParamsOk(
            nonce: challenge.nonce, serverNonce: challenge.serverNonce, encryptedAnswer: encryptedAnswer
        ).serialized()
    }

    /// Steps 7-9: decrypt client_DH_inner_data, compute the key, answer dh_gen_ok / retry / fail.
    /// Returns the answer, and the key when it is dh_gen_ok.
    private func handleSetClientDHParams(
        _ body: [UInt8], exchange: Exchange
    ) throws(HandshakeError) -> (answer: [UInt8], key: AuthKey?) {
        let request = try HandshakeWire.decode(MT.Functions.SetClientDHParams.self, from: body)
        guard request.nonce == exchange.nonce else { throw .nonceMismatch }
        guard request.serverNonce == exchange.serverNonce else { throw .serverNonceMismatch }

        func answer(_ number: UInt8, auxHash: [UInt8]) -> [UInt8] {
            let hash = HandshakeHashes.newNonceHash(exchange.newNonce, number: number, auxHash: auxHash)
            let answer: MT.SetClientDHParamsAnswer = switch number {
            case 1: .dhGenOk(.init(nonce: exchange.nonce, serverNonce: exchange.serverNonce, newNonceHash1: hash))
            case 2: .dhGenRetry(.init(nonce: exchange.nonce, serverNonce: exchange.serverNonce, newNonceHash2: hash))
            default: .dhGenFail(.init(nonce: exchange.nonce, serverNonce: exchange.serverNonce, newNonceHash3: hash))
            }
            return answer.serialized()
        }

        // Data the client's hash does not vouch for, or a g_b out of range, yields no key to
        // prove new_nonce_hash3 with; the failure is sent with a zero aux hash (the client
        // then sees a hash mismatch, which fails it just the same).
        let key: AuthKey
        let retryId: Int64
        do throws(HandshakeError) {
            let cipher = HandshakeCipher(newNonce: exchange.newNonce, serverNonce: exchange.serverNonce)
            let data = try cipher.open(request.encryptedData)
            let inner: MT.Types.ClientDHInnerData
            switch try HandshakeWire.decode(MT.ClientDHInnerData.self, from: data) {
            case .clientDHInnerData(let value): inner = value
            }
            guard inner.nonce == exchange.nonce, inner.serverNonce == exchange.serverNonce else { throw .nonceMismatch }
            key = try HandshakeDiffieHellman.authKey(peerPublic: inner.gB, secret: exchange.a, prime: dhPrime)
            retryId = inner.retryId
        } catch {
            state = .failed
            return (answer(3, auxHash: HandshakeHashes.noKeyAuxHash), nil)
        }

        guard retryId == exchange.expectedRetryId else {
            state = .failed
            return (answer(3, auxHash: key.auxHash), nil)
        }
        guard isKeyUsable(key) else {
            state = .awaitingClientDHParams(Exchange(
                nonce: exchange.nonce, serverNonce: exchange.serverNonce, newNonce: exchange.newNonce, a: exchange.a,
                expectedRetryId: HandshakeHashes.retryId(auxHash: key.auxHash)))
            return (answer(2, auxHash: key.auxHash), nil)
        }
        state = .finished
        return (answer(1, auxHash: key.auxHash), key)
    }

    // MARK: Helpers

    /// RSA_PAD first; if its hash check fails, the old scheme (SHA1(data) + data + padding,
    /// still used by some clients for some keys), whose SHA1 is checked once the TL length is known.
    private func decryptInnerData(_ encrypted: [UInt8], with key: RSAPrivateKey) throws(HandshakeError) -> InnerData {
        if let padded = try? RSAPad.decrypt(encrypted, with: key),
           let inner = try? MT.PQInnerData(tlBytes: padded) {
            return InnerData(inner)
        }
        guard let (hash, dataWithPadding) = try? RSAPad.decryptOldWithHash(encrypted, with: key) else {
            throw .rsaDecryptionFailed
        }
        var reader = TLReader(dataWithPadding)
        guard let inner = try? MT.PQInnerData(from: &reader),
              SHA1.hash(Array(dataWithPadding[0..<reader.position])) == hash else {
            throw .rsaDecryptionFailed
        }
        return InnerData(inner)
    }

    private func check(nonce: TLInt128, serverNonce: TLInt128, against challenge: Challenge) throws(HandshakeError) {
        guard nonce == challenge.nonce else { throw .nonceMismatch }
        guard serverNonce == challenge.serverNonce else { throw .serverNonceMismatch }
    }

    private func checkFactors(p: [UInt8], q: [UInt8], challenge: Challenge) throws(HandshakeError) {
        guard HandshakeProofOfWork.value(p) == UInt64(challenge.proofOfWork.p),
              HandshakeProofOfWork.value(q) == UInt64(challenge.proofOfWork.q) else { throw .pqMismatch }
    }

    private func packet(_ body: [UInt8]) -> [UInt8] {
        PlainMessage.encode(messageId: messageIds.next(.serverResponse, now: now()), body: body)
    }
}

/// The fields the server needs from any of the four p_q_inner_data variants.
private struct InnerData {
    let pq: [UInt8], p: [UInt8], q: [UInt8]
    let nonce: TLInt128, serverNonce: TLInt128, newNonce: TLInt256
    let dc: Int32?, expiresIn: Int32?

    init(_ data: MT.PQInnerData) {
        switch data {
        case .pQInnerData(let d):
            (pq, p, q, nonce, serverNonce, newNonce, dc, expiresIn) = (d.pq, d.p, d.q, d.nonce, d.serverNonce, d.newNonce, nil, nil)
        case .pQInnerDataDc(let d):
            (pq, p, q, nonce, serverNonce, newNonce, dc, expiresIn) = (d.pq, d.p, d.q, d.nonce, d.serverNonce, d.newNonce, d.dc, nil)
        case .pQInnerDataTemp(let d):
            (pq, p, q, nonce, serverNonce, newNonce, dc, expiresIn) = (d.pq, d.p, d.q, d.nonce, d.serverNonce, d.newNonce, nil, d.expiresIn)
        case .pQInnerDataTempDc(let d):
            (pq, p, q, nonce, serverNonce, newNonce, dc, expiresIn) = (d.pq, d.p, d.q, d.nonce, d.serverNonce, d.newNonce, d.dc, d.expiresIn)
        }
    }
}
