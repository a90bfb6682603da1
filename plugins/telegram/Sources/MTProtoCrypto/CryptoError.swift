/// Errors thrown by MTProtoCrypto. Bad input (wrong lengths, values out of range, hash
/// mismatches) always surfaces as one of these, never as a crash.
public enum CryptoError: Error, Equatable, Sendable {
    /// A symmetric key or IV has the wrong size.
    case invalidKeyLength
    /// An input has an unusable length; the string says which and why.
    case invalidLength(String)
    /// PEM text could not be parsed as the expected RSA key.
    case invalidPEM
    /// An RSA operation was refused (value not below the modulus, hash mismatch, …).
    case rsaFailure(String)
    /// A Diffie-Hellman prime, generator or public value failed Telegram's checks.
    case dhCheckFailed(String)
    /// `pq` could not be split into two factors that fit in 32 bits.
    case factorizationFailed
    /// An SRP (2FA) parameter or value failed a check.
    case srpFailed(String)
    /// OpenSSL reported an internal failure; the string names the call and OpenSSL's reason.
    case openSSL(String)
}
