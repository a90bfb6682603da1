/// Direction of a message relative to the account that carries it.
public enum Direction: String, Codable, Sendable, CaseIterable {
    case inbound, outbound
}

/// Delivery status of a message. It only moves forward: pending → sent → delivered → read,
/// or to failed from pending.
public enum MessageStatus: String, Codable, Sendable, CaseIterable {
    case pending, sent, delivered, read, failed

    var rank: Int {
        switch self {
        case .pending: 0
        case .sent: 1
        case .delivered: 2
        case .read: 3
        case .failed: 1
        }
    }

    /// Whether a message in this status may move to `next` (statuses never go backwards).
    public func canAdvance(to next: MessageStatus) -> Bool {
        if self == next { return false }
        if self == .failed { return false }
        if next == .failed { return self == .pending }
        return next.rank > rank
    }
}

/// Lifecycle of a BD account (one connected channel identity).
public enum AccountStatus: String, Codable, Sendable, CaseIterable {
    case connecting
    case awaitingCode = "awaiting_code"
    case awaitingPassword = "awaiting_password"
    case connected, disconnected, error
}

/// Kind of conversation.
public enum ChatKind: String, Codable, Sendable, CaseIterable {
    case user, group, channel
}
