import Foundation
import TelegramClient

/// What the plugin keeps per account through the host's state API (encrypted at rest by the host):
/// the client session plus enough to reconnect it after a restart. Versioned.
struct SavedAccount: Codable {
    static let currentVersion = 1
    var version = SavedAccount.currentVersion
    var accountId: String
    var organizationId: String
    var apiId: Int32?
    var apiHash: String?
    var phoneNumber: String?
    var session: TelegramSessionState?

    static func key(_ accountId: String) -> String { "account/\(accountId)" }
    /// The ABI has no key listing: the ids of saved accounts live under one index key.
    static let indexKey = "accounts"
}
