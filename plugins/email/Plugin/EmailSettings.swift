import ChannelKit
import EmailCore
import Foundation

/// The plugin's gateway.yaml `config` (snake_case keys, docs/EMAIL.md):
///
///     idle: true                       # IMAP IDLE when the server offers it (else polling)
///     poll_interval_seconds: 30        # polling interval without IDLE
///     initial_history: 0               # messages already in the mailbox fetched at the first connect
///     max_backoff_seconds: 60          # reconnect backoff cap (1 s doubling, ±20 % jitter)
///     timeout_seconds: 30              # connect and per-command network timeout
///     max_message_bytes: 52428800      # larger messages: only the header is fetched (≤ 256 MiB)
///     insecure_plaintext_secrets: false   # allow storing passwords without storage.state_key
struct EmailSettings: Decodable {
    var idle = true
    var pollIntervalSeconds = 30.0
    var initialHistory = 0
    var maxBackoffSeconds = 60
    var timeoutSeconds = 30
    var maxMessageBytes = 50 << 20
    var insecurePlaintextSecrets = false
    var gateway: HostInfo?

    /// What the host adds to every plugin's config (docs/PLUGIN_ABI.md).
    struct HostInfo: Decodable {
        var stateEncryption: String?
        /// "host": the host decides which gateway instance drives each account (`resume`/`release`).
        var accountOwnership: String?
    }

    var hostOwnsAccounts: Bool { gateway?.accountOwnership == "host" }

    enum CodingKeys: String, CodingKey {
        case idle, pollIntervalSeconds = "poll_interval_seconds", initialHistory = "initial_history"
        case maxBackoffSeconds = "max_backoff_seconds", timeoutSeconds = "timeout_seconds", maxMessageBytes = "max_message_bytes"
        case insecurePlaintextSecrets = "insecure_plaintext_secrets", gateway
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        idle = try container.decodeIfPresent(Bool.self, forKey: .idle) ?? true
        pollIntervalSeconds = try container.decodeIfPresent(Double.self, forKey: .pollIntervalSeconds) ?? 30
        initialHistory = try container.decodeIfPresent(Int.self, forKey: .initialHistory) ?? 0
        maxBackoffSeconds = try container.decodeIfPresent(Int.self, forKey: .maxBackoffSeconds) ?? 60
        timeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .timeoutSeconds) ?? 30
        maxMessageBytes = try container.decodeIfPresent(Int.self, forKey: .maxMessageBytes) ?? 50 << 20
        insecurePlaintextSecrets = try container.decodeIfPresent(Bool.self, forKey: .insecurePlaintextSecrets) ?? false
        gateway = try container.decodeIfPresent(HostInfo.self, forKey: .gateway)
        guard pollIntervalSeconds >= 0.1, initialHistory >= 0, maxBackoffSeconds >= 1, timeoutSeconds >= 1,
              (1...(256 << 20)).contains(maxMessageBytes) else {
            throw ChannelError.badRequest(
                "poll_interval_seconds must be ≥ 0.1, initial_history ≥ 0, max_backoff_seconds and timeout_seconds ≥ 1, "
                    + "max_message_bytes 1…268435456")
        }
    }

    static func decode(_ config: JSONValue) throws -> EmailSettings {
        do {
            return try JSONDecoder().decode(EmailSettings.self, from: JSONEncoder().encode(config))
        } catch let error as ChannelError {
            throw error
        } catch {
            throw ChannelError.badRequest("invalid email plugin config: \(error)")
        }
    }

    /// Passwords are stored only encrypted, unless the operator explicitly allows plaintext.
    var maySaveSecrets: Bool { gateway?.stateEncryption == "aes-256-gcm" || insecurePlaintextSecrets }

    func watcherOptions(mailbox: String) -> InboxWatcher.Options {
        var options = InboxWatcher.Options()
        options.mailbox = mailbox
        options.useIdle = idle
        options.pollInterval = .milliseconds(Int(pollIntervalSeconds * 1000))
        options.initialHistory = initialHistory
        options.maxBackoff = .seconds(maxBackoffSeconds)
        options.maxMessageBytes = maxMessageBytes
        return options
    }
}

/// The connect request's `config`: the account's address and its two servers.
///
///     {"address": "support@example.org", "displayName": "Support",
///      "smtp": {"host", "port", "tls": "starttls|implicit|none", "username", "password", "caFile"?, "auth"?},
///      "imap": {"host", "port", "tls", "username", "password", "mailbox"?: "INBOX", "caFile"?}}
struct EmailAccountConfig: Codable, Sendable, Hashable {
    var address: String?
    var displayName: String?
    var smtp: MailServer
    var imap: MailServer

    static func decode(_ config: JSONValue?, timeoutSeconds: Int) throws -> EmailAccountConfig {
        guard let config else {
            throw ChannelError(code: "CONFIG_REQUIRED", message: "config with smtp and imap servers is required")
        }
        var decoded: EmailAccountConfig
        do {
            decoded = try JSONDecoder().decode(EmailAccountConfig.self, from: JSONEncoder().encode(config))
        } catch {
            throw ChannelError.badRequest("invalid email config: \(describeDecoding(error))")
        }
        if let problem = decoded.smtp.problem("smtp") ?? decoded.imap.problem("imap") { throw ChannelError.badRequest(problem) }
        if decoded.smtp.timeoutSeconds == nil { decoded.smtp.timeoutSeconds = timeoutSeconds }
        if decoded.imap.timeoutSeconds == nil { decoded.imap.timeoutSeconds = timeoutSeconds }
        guard let address = decoded.fromAddress, address.contains("@") else {
            throw ChannelError.badRequest("config.address is required when the SMTP username is not an email address")
        }
        decoded.address = address
        return decoded
    }

    /// The account's own address: `address`, else an SMTP or IMAP username that is one.
    var fromAddress: String? {
        if let address, !address.isEmpty { return address }
        return [smtp.username, imap.username].first { $0.contains("@") }
    }

    var mailbox: String { imap.mailbox ?? "INBOX" }
}

/// A decoding error as one line naming the field ("smtp.port: expected a number").
func describeDecoding(_ error: Error) -> String {
    func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
    switch error as? DecodingError {
    case .keyNotFound(let key, let context)?: return "\(path(context.codingPath + [key])) is required"
    case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
        return "\(path(context.codingPath)): \(context.debugDescription)"
    case .dataCorrupted(let context)?: return "\(path(context.codingPath)): \(context.debugDescription)"
    default: return "\(error)"
    }
}
