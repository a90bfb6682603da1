import EmailCore
import Foundation

/// What the plugin keeps per account through the host's state API (encrypted at rest by the
/// host), in two keys so the frequent progress saves do not rewrite the credentials:
/// - `account/<id>`: how to connect (servers with passwords), written on connect;
/// - `mailbox/<id>`: where reading stopped and the conversations seen, written after every
///   emitted batch (so a crash fetches again rather than skips).
struct SavedEmailAccount: Codable {
    static let currentVersion = 1
    var version = SavedEmailAccount.currentVersion
    var accountId: String
    var organizationId: String
    var config: EmailAccountConfig
    /// false after `disconnect`: the account does not come back by itself at start.
    var enabled = true

    static func key(_ accountId: String) -> String { "account/\(accountId)" }
    /// The ABI has no key listing: the ids of saved accounts live under one index key.
    static let indexKey = "accounts"
}

struct SavedMailbox: Codable {
    static let currentVersion = 1
    var version = SavedMailbox.currentVersion
    /// The mailbox the progress belongs to (a connect with another mailbox starts over).
    var mailbox: String
    var progress: MailboxProgress?
    var threads: ThreadIndex
    var conversations: Conversations

    static func key(_ accountId: String) -> String { "mailbox/\(accountId)" }
}
