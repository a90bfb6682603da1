import MTProtoCrypto
import TLRuntime

/// Why an auth key exchange (https://core.telegram.org/mtproto/auth_key) stopped, on either
/// side. Every check the protocol asks for has its own case; nothing received from the
/// network traps. After any of these the exchange is over and must be started again.
public enum HandshakeError: Error, Equatable, Sendable {
    /// The packet is not a well-formed unencrypted message.
    case plainMessage(PlainMessageError)
    /// A message id with the wrong parity for its direction (client ids are even, server ids odd).
    case invalidMessageId(Int64)
    /// A message the current step does not expect (for the server: a request out of order),
    /// or any message once the exchange has finished or failed.
    case unexpectedAnswer(constructorId: UInt32)
    /// `nonce` differs from the one the client chose.
    case nonceMismatch
    /// `server_nonce` differs from the one the server chose in resPQ.
    case serverNonceMismatch
    /// Client: none of the fingerprints the server offers belongs to a key we have.
    case noKnownFingerprint([Int64])
    /// Server: req_DH_params names a key fingerprint the server has no private key for.
    case unknownFingerprint(Int64)
    /// Client: pq could not be split into two factors that fit in 32 bits.
    case pqFactorization
    /// Server: pq, p or q in req_DH_params or p_q_inner_data are not the ones it sent.
    case pqMismatch
    /// Server: encrypted_data decrypts under neither RSA_PAD nor the old SHA1 scheme.
    case rsaDecryptionFailed
    /// The SHA1 in front of an AES-IGE encrypted inner message does not match its contents.
    case answerHashMismatch
    /// The server answered req_DH_params with server_DH_params_fail (its new_nonce_hash checked).
    case dhParamsFail
    /// new_nonce_hash (server_DH_params_fail) or new_nonce_hash1/2/3 (dh_gen_*) is wrong.
    case newNonceHashMismatch
    /// The server answered set_client_DH_params with dh_gen_fail (new_nonce_hash3 checked).
    case dhGenFail
    /// The server asked for dh_gen_retry more often than the client allows.
    case tooManyRetries(Int)
    /// A Diffie-Hellman, RSA, AES or factorization primitive refused its input.
    case crypto(CryptoError)
    /// A message body is not valid TL for the expected type.
    case tl(TLError)
}

extension HandshakeError {
    /// Runs `body`, turning the errors of the layers below into `HandshakeError`.
    static func wrapping<T>(_ body: () throws -> T) throws(HandshakeError) -> T {
        do {
            return try body()
        } catch let error as HandshakeError {
            throw error
        } catch let error as CryptoError {
            throw .crypto(error)
        } catch let error as TLError {
            throw .tl(error)
        } catch let error as PlainMessageError {
            throw .plainMessage(error)
        } catch {
            // Only the error types above are thrown below this layer.
            throw .crypto(.openSSL("unexpected error: \(error)"))
        }
    }
}
