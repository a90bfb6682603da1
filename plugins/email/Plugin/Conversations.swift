import ChannelKit
import EmailCore
import Foundation

/// The chats an account has seen: who to write to, the subject and the Message-IDs a reply
/// threads under. Answers `dialogs` and lets `send` reply in a chat. Bounded (oldest dropped).
struct Conversations: Codable, Sendable, Equatable {
    struct Chat: Codable, Sendable, Equatable {
        var chatId: String
        /// Where replies go (Reply-To, else From of the last inbound message; the address itself for address chats).
        var replyAddress: EmailAddress
        var subject: String?
        /// The thread's root first, then the most recent ids (at most `maxReferences`).
        var references: [String] = []
        var lastMessageId: String?
        var lastText: String?
        var lastDate: Double?
        var unread = 0
        /// UIDs of inbound messages not marked read yet (for `mark_read` → IMAP \Seen), in `uidValidity`.
        var unseenUids: [UInt32]?
        var uidValidity: UInt32?
    }

    static let maxUnseenUids = 500

    static let maxReferences = 10
    var capacity = 2_000
    private(set) var chats: [String: Chat] = [:]

    subscript(chatId: String) -> Chat? { chats[chatId] }

    /// Notes a message in `chatId`: inbound messages move the reply address; every message moves the thread on.
    mutating func note(chatId: String, messageId: String, references: [String], replyAddress: EmailAddress?, subject: String?,
                       text: String, date: Double, inbound: Bool, uid: UInt32? = nil, uidValidity: UInt32? = nil) {
        var chat = chats[chatId] ?? Chat(chatId: chatId, replyAddress: replyAddress ?? EmailAddress(address: chatId))
        if inbound, let replyAddress { chat.replyAddress = replyAddress }
        if chat.subject == nil, let subject, !subject.isEmpty { chat.subject = Self.baseSubject(subject) }
        // The last message is the last one to arrive (UID order), not the one with the latest Date
        // header: senders' clocks are not to be trusted. A message seen again (re-fetch) is not news.
        if chat.lastMessageId != messageId, !chat.references.contains(messageId) {
            chat.lastMessageId = messageId
            chat.lastText = String(text.prefix(200))
            chat.lastDate = max(date, chat.lastDate ?? date)
        }
        var chain = chat.references.isEmpty ? references : chat.references
        for id in references + [messageId] where !chain.contains(id) { chain.append(id) }
        if chain.count > Self.maxReferences { chain = [chain[0]] + chain.suffix(Self.maxReferences - 1) }
        chat.references = chain
        if inbound { chat.unread += 1 }
        if inbound, let uid, let uidValidity {
            if chat.uidValidity != uidValidity { chat.unseenUids = [] }
            chat.uidValidity = uidValidity
            chat.unseenUids = Array(((chat.unseenUids ?? []) + [uid]).suffix(Self.maxUnseenUids))
        }
        chats[chatId] = chat
        if chats.count > capacity, let oldest = chats.values.min(by: { ($0.lastDate ?? 0) < ($1.lastDate ?? 0) }) {
            chats[oldest.chatId] = nil
        }
    }

    mutating func markRead(_ chatId: String) {
        chats[chatId]?.unread = 0
        chats[chatId]?.unseenUids = []
    }

    /// Most recent first; the cursor is the offset.
    func page(limit: Int, cursor: String?) -> DialogsPage {
        let sorted = chats.values.sorted { ($0.lastDate ?? 0, $0.chatId) > ($1.lastDate ?? 0, $1.chatId) }
        let start = min(Int(cursor ?? "") ?? 0, sorted.count)
        let end = min(start + max(limit, 1), sorted.count)
        let dialogs = sorted[start..<end].map { chat in
            Dialog(chatId: chat.chatId, kind: .user, title: chat.subject ?? chat.replyAddress.name ?? chat.replyAddress.address,
                   username: chat.replyAddress.address, unreadCount: chat.unread, lastMessageText: chat.lastText,
                   lastMessageDate: chat.lastDate)
        }
        return DialogsPage(dialogs: dialogs, nextCursor: end < sorted.count ? String(end) : nil)
    }

    /// "Re: Fwd: RE: hello" → "hello".
    static func baseSubject(_ subject: String) -> String {
        var text = subject.trimmingCharacters(in: .whitespaces)
        while let range = text.range(of: "^(re|fwd?|aw|wg)\\s*:\\s*", options: [.regularExpression, .caseInsensitive]) {
            text.removeSubrange(range)
        }
        return text
    }
}
