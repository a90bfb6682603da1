import MTProto
import MTProtoNetwork

extension TelegramClientError {
    /// rpc_error names that end an authorization for good (core.telegram.org/api/errors, 401 and 406).
    static let authorizationLossNames: Set<String> = [
        "AUTH_KEY_UNREGISTERED", "AUTH_KEY_INVALID", "AUTH_KEY_DUPLICATED", "AUTH_KEY_PERM_EMPTY",
        "SESSION_REVOKED", "SESSION_EXPIRED", "USER_DEACTIVATED", "USER_DEACTIVATED_BAN",
    ]

    static func isAuthorizationLoss(_ error: RPCError) -> Bool {
        (error.code == 401 || error.code == 406) && authorizationLossNames.contains(error.message)
    }

    /// The error a caller sees for an rpc_error that is not handled by retrying.
    init(_ error: RPCError) {
        if let seconds = error.floodWaitSeconds {
            self = .floodWait(seconds: seconds)
            return
        }
        switch error.message {
        case "PHONE_NUMBER_INVALID":
            self = .phoneNumberInvalid
        case "PHONE_CODE_INVALID", "PHONE_CODE_EMPTY":
            self = .phoneCodeInvalid
        case "PHONE_CODE_EXPIRED":
            self = .phoneCodeExpired
        case "PASSWORD_HASH_INVALID":
            self = .passwordInvalid
        case "SESSION_PASSWORD_NEEDED":
            self = .passwordRequired
        case "PEER_ID_INVALID", "CHAT_ID_INVALID", "CHANNEL_INVALID", "CHANNEL_PRIVATE", "USER_ID_INVALID",
             "INPUT_USER_DEACTIVATED", "PEER_ID_NOT_SUPPORTED", "CHAT_NOT_MODIFIED", "USERNAME_NOT_OCCUPIED":
            self = .peerInvalid(error.message)
        case "CHAT_WRITE_FORBIDDEN", "USER_IS_BLOCKED", "YOU_BLOCKED_USER", "CHAT_ADMIN_REQUIRED", "USER_BANNED_IN_CHANNEL",
             "CHAT_RESTRICTED", "CHAT_SEND_PLAIN_FORBIDDEN", "PRIVACY_PREMIUM_REQUIRED", "CHAT_GUEST_SEND_FORBIDDEN",
             "USER_PRIVACY_RESTRICTED", "ALLOW_PAYMENT_REQUIRED":
            self = .writeForbidden(error.message)
        default:
            self = Self.isAuthorizationLoss(error) ? .loggedOut(error.message) : .rpc(code: error.code, message: error.message)
        }
    }

    init(_ error: SenderError) {
        switch error {
        case .authKeyRejected: self = .loggedOut("AUTH_KEY_UNREGISTERED")
        case .timeout: self = .connection("request timed out")
        case .notConnected: self = .connection("not connected")
        case .closed(let reason): self = .connection("connection closed: \(reason)")
        case .connectionFailed(let reason): self = .connection(reason)
        case .refusedByServer(let code): self = .connection("request refused by the server (bad_msg_notification \(code))")
        case .handshake(let reason): self = .connection("auth key exchange failed: \(reason)")
        }
    }
}

/// The opaque cursor of `dialogs(limit:cursor:)`: the offsets of getDialogs' next page
/// (the last dialog's top message date and id, and its peer).
struct DialogCursor: Equatable {
    var offsetDate: Int32
    var offsetId: Int32
    var chatId: String

    var encoded: String { "d1:\(offsetDate):\(offsetId):\(chatId)" }

    init(offsetDate: Int32, offsetId: Int32, chatId: String) {
        self.offsetDate = offsetDate
        self.offsetId = offsetId
        self.chatId = chatId
    }

    init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "d1", let date = Int32(parts[1]), let id = Int32(parts[2]), !parts[3].isEmpty else { return nil }
        self.init(offsetDate: date, offsetId: id, chatId: String(parts[3]))
    }
}
