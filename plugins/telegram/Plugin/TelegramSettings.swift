import ChannelKit
import Foundation
import MTProtoCrypto
import MTProtoTransport
import TelegramClient

/// The plugin's gateway.yaml `config` (snake_case keys, docs/TELEGRAM.md):
///
///     api_id: 12345                 # default for accounts connecting without their own
///     api_hash: 0123abcd…
///     test_servers: false           # Telegram's test DCs (dc id + 10000 in the handshake)
///     data_centers: {"2": "127.0.0.1:4430"}   # override addresses (tests: the fake DC)
///     rsa_public_keys: ["-----BEGIN RSA PUBLIC KEY-----…"]  # PEM text or a file path
///     transport: intermediate       # abridged | intermediate | padded_intermediate | full
///     obfuscated: false
///     flood_wait_threshold_seconds: 30
///     reconnect_attempts: 5         # per outage, with exponential backoff and jitter
///     retry_interval_seconds: 60    # after those: status error, then a retry this often
///     send_interval_ms: 50          # per-account pacing of sends
///     dialogs_interval_ms: 500      # per-account pacing of dialog pages
///     insecure_plaintext_sessions: false   # allow storing sessions without storage.state_key
struct TelegramSettings: Decodable {
    var apiId: Int32?
    var apiHash: String?
    var testServers = false
    var dataCenters: [String: String] = [:]
    var rsaPublicKeys: [String] = []
    var transport = "intermediate"
    var obfuscated = false
    var floodWaitThresholdSeconds = 30
    var reconnectAttempts = 5
    var retryIntervalSeconds = 60
    var sendIntervalMilliseconds = 50
    var dialogsIntervalMilliseconds = 500
    var insecurePlaintextSessions = false
    var gateway: HostInfo?

    /// What the host adds to every plugin's config (docs/PLUGIN_ABI.md).
    struct HostInfo: Decodable {
        var stateEncryption: String?
        /// "host": the host decides which gateway instance drives each account (`resume`/`release`).
        var accountOwnership: String?
    }

    var hostOwnsAccounts: Bool { gateway?.accountOwnership == "host" }

    enum CodingKeys: String, CodingKey {
        case apiId = "api_id", apiHash = "api_hash", testServers = "test_servers", dataCenters = "data_centers"
        case rsaPublicKeys = "rsa_public_keys", transport, obfuscated
        case floodWaitThresholdSeconds = "flood_wait_threshold_seconds", reconnectAttempts = "reconnect_attempts"
        case retryIntervalSeconds = "retry_interval_seconds", sendIntervalMilliseconds = "send_interval_ms"
        case dialogsIntervalMilliseconds = "dialogs_interval_ms"
        case insecurePlaintextSessions = "insecure_plaintext_sessions", gateway
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // From ${ENV} the id may arrive as text; empty means "not configured".
        if let number = try? container.decodeIfPresent(Int32.self, forKey: .apiId) {
            apiId = number
        } else if let text = try container.decodeIfPresent(String.self, forKey: .apiId), !text.isEmpty {
            guard let number = Int32(text) else {
                throw DecodingError.dataCorruptedError(forKey: .apiId, in: container, debugDescription: "api_id must be a number, got \"\(text)\"")
            }
            apiId = number
        }
        apiHash = try container.decodeIfPresent(String.self, forKey: .apiHash).flatMap { $0.isEmpty ? nil : $0 }
        testServers = try container.decodeIfPresent(Bool.self, forKey: .testServers) ?? false
        dataCenters = try container.decodeIfPresent([String: String].self, forKey: .dataCenters) ?? [:]
        rsaPublicKeys = try container.decodeIfPresent([String].self, forKey: .rsaPublicKeys) ?? []
        transport = try container.decodeIfPresent(String.self, forKey: .transport) ?? "intermediate"
        obfuscated = try container.decodeIfPresent(Bool.self, forKey: .obfuscated) ?? false
        floodWaitThresholdSeconds = try container.decodeIfPresent(Int.self, forKey: .floodWaitThresholdSeconds) ?? 30
        reconnectAttempts = try container.decodeIfPresent(Int.self, forKey: .reconnectAttempts) ?? 5
        retryIntervalSeconds = try container.decodeIfPresent(Int.self, forKey: .retryIntervalSeconds) ?? 60
        sendIntervalMilliseconds = try container.decodeIfPresent(Int.self, forKey: .sendIntervalMilliseconds) ?? 50
        dialogsIntervalMilliseconds = try container.decodeIfPresent(Int.self, forKey: .dialogsIntervalMilliseconds) ?? 500
        insecurePlaintextSessions = try container.decodeIfPresent(Bool.self, forKey: .insecurePlaintextSessions) ?? false
        gateway = try container.decodeIfPresent(HostInfo.self, forKey: .gateway)
    }

    static func decode(_ config: JSONValue) throws -> TelegramSettings {
        do {
            return try JSONDecoder().decode(TelegramSettings.self, from: JSONEncoder().encode(config))
        } catch {
            throw ChannelError.badRequest("invalid telegram plugin config: \(error)")
        }
    }

    /// Sessions (auth keys) are stored only encrypted, unless the operator explicitly allows plaintext.
    var maySaveSessions: Bool { gateway?.stateEncryption == "aes-256-gcm" || insecurePlaintextSessions }

    /// The client configuration for one account (its own api_id/api_hash win over the plugin's).
    func clientConfiguration(apiId: Int32?, apiHash: String?) throws -> TelegramClientConfiguration {
        guard let apiId = apiId ?? self.apiId, let apiHash = apiHash ?? self.apiHash, apiId > 0, !apiHash.isEmpty else {
            throw ChannelError(code: "API_ID_INVALID", message: "apiId and apiHash are required (in the request or the plugin config)")
        }
        var configuration = TelegramClientConfiguration(apiId: apiId, apiHash: apiHash)
        configuration.testServers = testServers
        for (id, address) in dataCenters {
            let parts = address.split(separator: ":")
            guard let dc = Int32(id), parts.count == 2, let port = Int(parts[1]) else {
                throw ChannelError.badRequest("data_centers.\(id): expected \"host:port\", got \"\(address)\"")
            }
            configuration.dataCenters[dc] = DataCenterAddress(host: String(parts[0]), port: port)
        }
        if !rsaPublicKeys.isEmpty {
            configuration.rsaKeys = try rsaPublicKeys.map { entry in
                let pem = entry.contains("BEGIN") ? entry : try String(contentsOfFile: entry, encoding: .utf8)
                return try RSAPublicKey(pem: pem)
            }
        }
        let kinds: [String: TransportKind] = [
            "abridged": .abridged, "intermediate": .intermediate, "padded_intermediate": .paddedIntermediate, "full": .full,
        ]
        guard let kind = kinds[transport] else {
            throw ChannelError.badRequest("transport: \"\(transport)\" is not one of \(kinds.keys.sorted().joined(separator: ", "))")
        }
        configuration.transport = TransportConfiguration(kind: kind, obfuscated: obfuscated)
        configuration.floodWaitThreshold = .seconds(floodWaitThresholdSeconds)
        guard reconnectAttempts >= 0, retryIntervalSeconds >= 1 else {
            throw ChannelError.badRequest("reconnect_attempts must be ≥ 0 and retry_interval_seconds ≥ 1")
        }
        configuration.reconnectAttempts = reconnectAttempts
        configuration.disconnectedRetryInterval = .seconds(retryIntervalSeconds)
        return configuration
    }
}
