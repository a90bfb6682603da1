import MTProtoCrypto
import MTProtoTL
import TLRuntime

/// The client side of the auth key exchange (https://core.telegram.org/mtproto/auth_key) as
/// a state machine: `start()` yields req_pq_multi, each `receive` takes the server's packet
/// and yields the next one to send, until `.done`. No I/O; the clock and randomness are
/// injected. Every check of the protocol is made; any failure throws a `HandshakeError` and
/// ends the exchange (call `start()` again to retry from the beginning).
///
/// Not thread-safe: drive it from one connection's context.
public final class ClientHandshake: @unchecked Sendable {
    private let keys: [Int64: RSAPublicKey]
    private let dcId: Int32
    private let now: @Sendable () -> Double
    private let random: HandshakeRandom
    private let maxRetries: Int
    private var messageIds = MessageIdGenerator()
    private var state: State = .idle

    /// The nonces of one run: (nonce, server_nonce) name it, new_nonce keys it.
    private struct Nonces {
        let nonce: TLInt128
        let serverNonce: TLInt128
        let newNonce: TLInt256
    }

    /// What step 7 needs again on dh_gen_retry.
    private struct DHParameters {
        let prime: [UInt8]
        let g: Int32
        let gA: [UInt8]
        let timeOffset: Double
    }

    private enum State {
        case idle
        case awaitingResPQ(nonce: TLInt128)
        case awaitingServerDHParams(Nonces)
        case awaitingDHGenAnswer(Nonces, DHParameters, authKey: AuthKey, retries: Int)
        case finished
    }

    /// - Parameters:
    ///   - rsaKeys: the server keys this client trusts; one must match a fingerprint in resPQ.
    ///   - dcId: the `dc` of p_q_inner_data_dc, final form: +10000 for test DCs, negative for media DCs.
    ///   - now: the local unix time in seconds.
    ///   - random: secure random bytes; drawn in order nonce (16), new_nonce (32), then per
    ///     attempt b (256, again if g^b is out of range) and the 0-15 bytes of AES padding.
    ///   - maxRetries: how many dh_gen_retry answers to follow before giving up.
    public init(
        rsaKeys: [RSAPublicKey], dcId: Int32, now: @escaping @Sendable () -> Double,
        random: @escaping @Sendable (Int) -> [UInt8] = SecureRandom.bytes, maxRetries: Int = 5
    ) {
        keys = Dictionary(rsaKeys.map { ($0.fingerprint, $0) }, uniquingKeysWith: { first, _ in first })
        self.dcId = dcId
        self.now = now
        self.random = HandshakeRandom(random)
        self.maxRetries = maxRetries
    }

    /// Starts (or restarts) the exchange: the req_pq_multi packet to send.
    public func start() -> [UInt8] {
        let nonce = random.int128()
        state = .awaitingResPQ(nonce: nonce)
        return packet(MT.Functions.ReqPqMulti(nonce: nonce))
    }

    /// Handles one packet from the server. Throws on anything unexpected; the exchange is then over.
    public func receive(_ packet: [UInt8]) throws(HandshakeError) -> HandshakeStep {
        let current = state
        state = .finished  // until a step succeeds: every failure is final
        let body = try HandshakeWire.open(packet, from: .server)
        let constructorId = try HandshakeWire.constructorId(of: body)
        switch current {
        case .awaitingResPQ(let nonce) where constructorId == MT.Types.ResPQ.constructorId:
            return .send(try handleResPQ(body, nonce: nonce))
        case .awaitingServerDHParams(let nonces)
            where constructorId == MT.Types.ServerDHParamsOk.constructorId
            || constructorId == MT.Types.ServerDHParamsFail.constructorId:
            return .send(try handleServerDHParams(body, nonces: nonces))
        case .awaitingDHGenAnswer(let nonces, let parameters, let authKey, let retries)
            where constructorId == MT.Types.DhGenOk.constructorId
            || constructorId == MT.Types.DhGenRetry.constructorId
            || constructorId == MT.Types.DhGenFail.constructorId:
            return try handleDHGenAnswer(body, nonces: nonces, parameters: parameters, authKey: authKey, retries: retries)
        default:
            throw .unexpectedAnswer(constructorId: constructorId)
        }
    }

    // MARK: Steps

    /// Steps 2-5: check resPQ, split pq, send p_q_inner_data_dc under RSA_PAD in req_DH_params.
    private func handleResPQ(_ body: [UInt8], nonce: TLInt128) throws(HandshakeError) -> [UInt8] {
        let resPQ: MT.Types.ResPQ
        switch try HandshakeWire.decode(MT.ResPQ.self, from: body) {
        case .resPQ(let value): resPQ = value
        }
        guard resPQ.nonce == nonce else { throw .nonceMismatch }
        // The first fingerprint the server offers that we hold a key for.
        guard let key = resPQ.serverPublicKeyFingerprints.lazy.compactMap({ self.keys[$0] }).first else {
            throw .noKnownFingerprint(resPQ.serverPublicKeyFingerprints)
        }
        let factors: (p: [UInt8], q: [UInt8])
        do {
            factors = try PQFactorization.split(pqBytes: resPQ.pq)
        } catch {
            throw .pqFactorization
        }
        let nonces = Nonces(nonce: nonce, serverNonce: resPQ.serverNonce, newNonce: random.int256())
        let innerData = MT.Types.PQInnerDataDc(
            pq: resPQ.pq, p: factors.p, q: factors.q, nonce: nonce, serverNonce: nonces.serverNonce,
            newNonce: nonces.newNonce, dc: dcId)
        let encrypted = try HandshakeError.wrapping { try RSAPad.encrypt(innerData.serialized(), with: key) }
        state = .awaitingServerDHParams(nonces)
        return packet(MT.Functions.ReqDHParams(
            nonce: nonce, serverNonce: nonces.serverNonce, p: factors.p, q: factors.q,
            publicKeyFingerprint: key.fingerprint, encryptedData: encrypted))
    }

    /// Step 6: check and decrypt server_DH_inner_data, check the DH parameters, then step 7.
    private func handleServerDHParams(_ body: [UInt8], nonces: Nonces) throws(HandshakeError) -> [UInt8] {
        switch try HandshakeWire.decode(MT.ServerDHParams.self, from: body) {
        case .serverDHParamsFail(let fail):
            try check(nonce: fail.nonce, serverNonce: fail.serverNonce, against: nonces)
            guard fail.newNonceHash == HandshakeHashes.newNonceHash(nonces.newNonce) else { throw .newNonceHashMismatch }
            throw .dhParamsFail
        case .serverDHParamsOk(let ok):
            try check(nonce: ok.nonce, serverNonce: ok.serverNonce, against: nonces)
            let cipher = HandshakeCipher(newNonce: nonces.newNonce, serverNonce: nonces.serverNonce)
            let answer = try cipher.open(ok.encryptedAnswer)
            let inner: MT.Types.ServerDHInnerData
            switch try HandshakeWire.decode(MT.ServerDHInnerData.self, from: answer) {
            case .serverDHInnerData(let value): inner = value
            }
            try check(nonce: inner.nonce, serverNonce: inner.serverNonce, against: nonces)
            try HandshakeError.wrapping {
                try DiffieHellman.checkPrimeAndGenerator(prime: inner.dhPrime, g: inner.g)
                try DiffieHellman.checkPublicValue(inner.gA, prime: inner.dhPrime)
            }
            let timeOffset = Double(inner.serverTime) - now()
            messageIds.timeOffset = timeOffset
            let parameters = DHParameters(prime: inner.dhPrime, g: inner.g, gA: inner.gA, timeOffset: timeOffset)
            return try sendClientDHParams(nonces: nonces, parameters: parameters, retryId: 0, retries: 0)
        }
    }

    /// Step 7: a fresh b, g_b in client_DH_inner_data under the temporary AES key.
    private func sendClientDHParams(
        nonces: Nonces, parameters: DHParameters, retryId: Int64, retries: Int
    ) throws(HandshakeError) -> [UInt8] {
        let (b, gB) = try HandshakeDiffieHellman.keyPair(prime: parameters.prime, g: parameters.g, random: random)
        let authKey = try HandshakeDiffieHellman.authKey(peerPublic: parameters.gA, secret: b, prime: parameters.prime)
        let innerData = MT.Types.ClientDHInnerData(
            nonce: nonces.nonce, serverNonce: nonces.serverNonce, retryId: retryId, gB: gB)
        let cipher = HandshakeCipher(newNonce: nonces.newNonce, serverNonce: nonces.serverNonce)
        let encrypted = try cipher.seal(innerData.serialized(), random: random)
        state = .awaitingDHGenAnswer(nonces, parameters, authKey: authKey, retries: retries)
        return packet(MT.Functions.SetClientDHParams(
            nonce: nonces.nonce, serverNonce: nonces.serverNonce, encryptedData: encrypted))
    }

    /// Step 9: dh_gen_ok finishes, dh_gen_retry goes back to step 7, dh_gen_fail throws;
    /// each only after its new_nonce_hash proves it came from the server.
    private func handleDHGenAnswer(
        _ body: [UInt8], nonces: Nonces, parameters: DHParameters, authKey: AuthKey, retries: Int
    ) throws(HandshakeError) -> HandshakeStep {
        func expectedHash(_ number: UInt8) -> TLInt128 {
            HandshakeHashes.newNonceHash(nonces.newNonce, number: number, auxHash: authKey.auxHash)
        }
        switch try HandshakeWire.decode(MT.SetClientDHParamsAnswer.self, from: body) {
        case .dhGenOk(let ok):
            try check(nonce: ok.nonce, serverNonce: ok.serverNonce, against: nonces)
            guard ok.newNonceHash1 == expectedHash(1) else { throw .newNonceHashMismatch }
            let salt = HandshakeHashes.serverSalt(newNonce: nonces.newNonce, serverNonce: nonces.serverNonce)
            return .done(HandshakeResult(authKey: authKey, serverSalt: salt, timeOffset: parameters.timeOffset), send: nil)
        case .dhGenRetry(let retry):
            try check(nonce: retry.nonce, serverNonce: retry.serverNonce, against: nonces)
            guard retry.newNonceHash2 == expectedHash(2) else { throw .newNonceHashMismatch }
            guard retries < maxRetries else { throw .tooManyRetries(retries) }
            return .send(try sendClientDHParams(
                nonces: nonces, parameters: parameters,
                retryId: HandshakeHashes.retryId(auxHash: authKey.auxHash), retries: retries + 1))
        case .dhGenFail(let fail):
            try check(nonce: fail.nonce, serverNonce: fail.serverNonce, against: nonces)
            guard fail.newNonceHash3 == expectedHash(3) else { throw .newNonceHashMismatch }
            throw .dhGenFail
        }
    }

    // MARK: Helpers

    private func check(nonce: TLInt128, serverNonce: TLInt128, against nonces: Nonces) throws(HandshakeError) {
        guard nonce == nonces.nonce else { throw .nonceMismatch }
        guard serverNonce == nonces.serverNonce else { throw .serverNonceMismatch }
    }

    private func packet(_ function: some TLFunction) -> [UInt8] {
        PlainMessage.encode(messageId: messageIds.next(.client, now: now()), body: function.serialized())
    }
}
