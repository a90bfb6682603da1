import Crypto
import Foundation

/// Plugin state encrypted at rest (channel sessions hold auth keys): AES-256-GCM with a key from
/// `storage.state_key`, each value bound to its plugin and key as additional data so a value
/// cannot be moved to another slot. Values written before a key was configured (plaintext) are
/// still read; every new write is encrypted.
public struct EncryptedPluginStateStore: PluginStateStore {
    /// "GWE1": marks an encrypted value (then a 12-byte nonce, the ciphertext and the 16-byte tag).
    static let magic: [UInt8] = [0x47, 0x57, 0x45, 0x31]

    public enum StateError: Error, CustomStringConvertible {
        case undecryptable(plugin: String, key: String)
        public var description: String {
            switch self {
            case .undecryptable(let plugin, let key):
                return "state \(plugin)/\(key) does not decrypt with storage.state_key (wrong key, or the value was altered)"
            }
        }
    }

    let base: any PluginStateStore
    let key: SymmetricKey

    public init(base: any PluginStateStore, key: SymmetricKey) {
        self.base = base
        self.key = key
    }

    /// A 32-byte key from `storage.state_key`: base64 of 32 bytes as is, anything else (a passphrase
    /// of at least 16 characters, checked by the config) through SHA-256.
    public static func key(from configured: String) -> SymmetricKey {
        if let raw = Data(base64Encoded: configured), raw.count == 32 { return SymmetricKey(data: raw) }
        return SymmetricKey(data: SHA256.hash(data: Data(configured.utf8)))
    }

    public func get(plugin: String, key name: String) throws -> Data? {
        guard let stored = try base.get(plugin: plugin, key: name) else { return nil }
        guard stored.starts(with: Self.magic) else { return stored }
        do {
            let box = try AES.GCM.SealedBox(combined: stored.dropFirst(Self.magic.count))
            return try AES.GCM.open(box, using: key, authenticating: Self.slot(plugin, name))
        } catch {
            throw StateError.undecryptable(plugin: plugin, key: name)
        }
    }

    public func put(plugin: String, key name: String, value: Data) throws {
        let sealed = try AES.GCM.seal(value, using: key, authenticating: Self.slot(plugin, name))
        guard let combined = sealed.combined else { throw StateError.undecryptable(plugin: plugin, key: name) }
        try base.put(plugin: plugin, key: name, value: Data(Self.magic) + combined)
    }

    public func delete(plugin: String, key name: String) throws {
        try base.delete(plugin: plugin, key: name)
    }

    static func slot(_ plugin: String, _ key: String) -> Data { Data("\(plugin)\u{0}\(key)".utf8) }
}
