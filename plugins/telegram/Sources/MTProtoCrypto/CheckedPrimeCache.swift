import Synchronization

/// Primes already proven safe (p and (p-1)/2 both prime), so each distinct DH prime pays
/// for the slow primality tests once per process. Thread-safe.
enum CheckedPrimeCache {
    private static let primes = Mutex<Set<[UInt8]>>([DiffieHellman.telegramPrime])

    static func contains(_ prime: [UInt8]) -> Bool {
        primes.withLock { $0.contains(prime) }
    }

    static func insert(_ prime: [UInt8]) {
        primes.withLock { _ = $0.insert(prime) }
    }
}
