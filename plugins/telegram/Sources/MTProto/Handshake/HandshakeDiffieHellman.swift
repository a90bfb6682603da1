import MTProtoCrypto

/// Diffie-Hellman with the handshake's injected randomness (`DiffieHellman.generateKeyPair`
/// always draws from SecureRandom).
enum HandshakeDiffieHellman {
    /// Size of secrets and of the public values sent (the prime's size, 2048 bits).
    static let valueLength = 256

    /// A random 2048-bit secret and `g^secret mod p`, left-padded to 256 bytes, drawn again
    /// until the public value passes `DiffieHellman.checkPublicValue` (both sides must check
    /// their own value too).
    static func keyPair(prime: [UInt8], g: Int32, random: HandshakeRandom) throws(HandshakeError) -> (secret: [UInt8], publicValue: [UInt8]) {
        let generator = bigEndian(g)
        // A draw fails with probability about 2^-63; repeated failures mean a bad prime.
        for _ in 0..<8 {
            let secret = random.bytes(valueLength)
            let publicValue = try HandshakeError.wrapping { try BigNumber.modExp(generator, secret, prime) }
            if (try? DiffieHellman.checkPublicValue(publicValue, prime: prime)) != nil {
                let padded = try HandshakeError.wrapping {
                    try BigNumber.leftPadded(publicValue, to: max(valueLength, publicValue.count))
                }
                return (secret, padded)
            }
        }
        throw .crypto(.dhCheckFailed("no public value in range after 8 draws"))
    }

    /// `peerPublic^secret mod p` as a 2048-bit auth key; the peer's value is checked first.
    static func authKey(peerPublic: [UInt8], secret: [UInt8], prime: [UInt8]) throws(HandshakeError) -> AuthKey {
        let shared = try HandshakeError.wrapping {
            try DiffieHellman.sharedSecret(peerPublic: peerPublic, secret: secret, prime: prime)
        }
        // sharedSecret pads to the prime's size, which the callers have checked is 2048 bits.
        guard let key = AuthKey(shared) else { throw .crypto(.dhCheckFailed("auth key is \(shared.count) bytes, expected 256")) }
        return key
    }

    private static func bigEndian(_ value: Int32) -> [UInt8] {
        let bits = UInt32(bitPattern: value)
        return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: bits >> $0) }
    }
}
