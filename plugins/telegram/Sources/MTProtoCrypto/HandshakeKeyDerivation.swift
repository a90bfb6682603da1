/// Key derivation for the auth key handshake (https://core.telegram.org/mtproto/auth_key,
/// step 5): the temporary AES-IGE key and IV protecting `server_DH_inner_data` and
/// `client_DH_inner_data`.
public enum HandshakeKeyDerivation {
    /// `newNonce` is the client's 32-byte new_nonce, `serverNonce` the 16-byte server_nonce.
    ///
    ///     key = SHA1(new_nonce + server_nonce) + SHA1(server_nonce + new_nonce)[0..<12]
    ///     iv  = SHA1(server_nonce + new_nonce)[12..<20] + SHA1(new_nonce + new_nonce) + new_nonce[0..<4]
    public static func tmpAESKeyIV(newNonce: [UInt8], serverNonce: [UInt8]) -> (key: [UInt8], iv: [UInt8]) {
        let newServer = SHA1.hash(newNonce, serverNonce)
        let serverNew = SHA1.hash(serverNonce, newNonce)
        let newNew = SHA1.hash(newNonce, newNonce)
        let key = newServer + serverNew[0..<12]
        let iv = Array(serverNew[12..<20]) + newNew + newNonce.prefix(4)
        return (key, iv)
    }
}
