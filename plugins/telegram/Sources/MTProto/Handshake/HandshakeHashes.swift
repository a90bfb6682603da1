import MTProtoCrypto
import TLRuntime

/// The values both sides derive from new_nonce (https://core.telegram.org/mtproto/auth_key,
/// steps 6 and 9). "128 lower-order bits of SHA1" are the last 16 bytes of the digest,
/// taken as they are (int128 fields are raw bytes).
enum HandshakeHashes {
    /// new_nonce_hash of server_DH_params_fail: the lower 128 bits of SHA1(new_nonce).
    static func newNonceHash(_ newNonce: TLInt256) -> TLInt128 {
        lower128(SHA1.hash(newNonce.bytes))
    }

    /// new_nonce_hash1/2/3 of dh_gen_ok/retry/fail: the lower 128 bits of
    /// SHA1(new_nonce + [number] + auth_key_aux_hash).
    static func newNonceHash(_ newNonce: TLInt256, number: UInt8, auxHash: [UInt8]) -> TLInt128 {
        lower128(SHA1.hash(newNonce.bytes, [number], auxHash))
    }

    /// server_salt := substr(new_nonce, 0, 8) XOR substr(server_nonce, 0, 8), read as a little-endian long.
    static func serverSalt(newNonce: TLInt256, serverNonce: TLInt128) -> Int64 {
        littleEndianInt64(zip(newNonce.bytes.prefix(8), serverNonce.bytes.prefix(8)).map { $0 ^ $1 })
    }

    /// auth_key_aux_hash as the `long` retry_id of client_DH_inner_data.
    static func retryId(auxHash: [UInt8]) -> Int64 {
        littleEndianInt64(auxHash)
    }

    /// Stand-in aux hash for a dh_gen_fail sent when no auth key could be computed.
    static let noKeyAuxHash = [UInt8](repeating: 0, count: 8)

    private static func lower128(_ digest: [UInt8]) -> TLInt128 {
        // A SHA1 digest is 20 bytes, so the suffix is always 16 and the fallback unreachable.
        TLInt128(Array(digest.suffix(16))) ?? .zero
    }

    private static func littleEndianInt64(_ bytes: [UInt8]) -> Int64 {
        bytes.prefix(8).reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
}
