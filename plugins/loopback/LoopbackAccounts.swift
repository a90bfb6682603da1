import ChannelKit
import Foundation

/// What the loopback channel remembers per account: login state, sends, and its chats.
final class LoopbackAccounts: @unchecked Sendable {
    private struct State {
        var status: AccountStatus
        var requiresPassword = false
        var sends: [String: SendResult] = [:]
        var chats: [String: Dialog] = [:]
    }

    private let lock = NSLock()
    private var states: [String: State] = [:]
    private var sequence = 0

    func set(_ accountId: String, _ status: AccountStatus, requiresPassword: Bool? = nil) {
        lock.withLock {
            var state = states[accountId] ?? State(status: status)
            state.status = status
            if let requiresPassword { state.requiresPassword = requiresPassword }
            states[accountId] = state
        }
    }

    func status(_ accountId: String) -> AccountStatus? {
        lock.withLock { states[accountId]?.status }
    }

    func requiresPassword(_ accountId: String) -> Bool {
        lock.withLock { states[accountId]?.requiresPassword ?? false }
    }

    /// Stops driving the account (the host's `release`): what it knew goes with it.
    func forget(_ accountId: String) {
        lock.withLock { states[accountId] = nil }
    }

    /// The result for this idempotency key, and whether it is a new send. With `keyedIds` the
    /// external id is derived from the key rather than this process's counter, so instances that
    /// drive the account in turn never reuse one.
    func recordSend(_ send: SendRequest, keyedIds: Bool = false) -> (SendResult, Bool) {
        lock.withLock {
            if let existing = states[send.accountId]?.sends[send.idempotencyKey] { return (existing, false) }
            sequence += 1
            let externalId = keyedIds ? "out-\(send.idempotencyKey)" : "out-\(sequence)"
            let result = SendResult(externalId: externalId, date: Date().timeIntervalSince1970)
            states[send.accountId]?.sends[send.idempotencyKey] = result
            return (result, true)
        }
    }

    func noteInbound(_ accountId: String, _ message: ChannelMessage) {
        lock.withLock {
            var dialog = states[accountId]?.chats[message.chatId]
                ?? Dialog(chatId: message.chatId, kind: message.chatKind ?? .user, title: message.chatTitle, unreadCount: 0)
            dialog.unreadCount += 1
            dialog.lastMessageText = message.text
            dialog.lastMessageDate = message.date
            states[accountId]?.chats[message.chatId] = dialog
        }
    }

    func markRead(_ accountId: String, chatId: String) {
        lock.withLock { states[accountId]?.chats[chatId]?.unreadCount = 0 }
    }

    /// Dialogs ordered by chat id; the cursor is the offset of the next page.
    func dialogs(_ accountId: String, limit: Int, cursor: String?) -> DialogsPage {
        lock.withLock {
            let all = (states[accountId]?.chats.values).map { $0.sorted { $0.chatId < $1.chatId } } ?? []
            let offset = min(all.count, max(0, Int(cursor ?? "0") ?? 0))
            let end = min(all.count, offset + max(1, limit))
            return DialogsPage(dialogs: Array(all[offset..<end]), nextCursor: end < all.count ? String(end) : nil)
        }
    }
}
