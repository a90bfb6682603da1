import Foundation
import TelegramAPI

/// Api.Message → TelegramMessage, with names from the peer directory.
struct MessageConverter {
    var peers: PeerDirectory
    var selfUserId: Int64?

    /// nil for empty messages; service messages (joins, pins, …) become nil too: they carry no text.
    func convert(_ message: Api.Message) -> TelegramMessage? {
        guard case .message(let message) = message else { return nil }
        let chatId = ChatID.of(message.peerId)
        let kind = peers.kind(of: message.peerId)
        var senderId: Int64?
        switch message.fromId {
        case .peerUser(let user)?: senderId = user.userId
        case .peerChannel(let channel)?: senderId = channel.channelId
        case .peerChat(let chat)?: senderId = chat.chatId
        case nil:
            if case .peerUser(let user) = message.peerId {
                senderId = message.out ? selfUserId : user.userId
            } else if message.out {
                senderId = selfUserId
            }
        }
        let senderKey: String? = switch message.fromId {
        case .peerChannel(let channel)?: ChatID.channel(channel.channelId)
        case .peerChat(let chat)?: ChatID.group(chat.chatId)
        default: senderId.map(ChatID.user)
        }
        var replyToId: Int32?
        if case .messageReplyHeader(let header)? = message.replyTo { replyToId = header.replyToMsgId }
        return TelegramMessage(
            chatId: chatId, id: message.id, date: Date(timeIntervalSince1970: TimeInterval(message.date)),
            text: message.message, outgoing: message.out, senderId: senderId,
            senderName: senderKey.flatMap { peers.reference($0)?.title }, replyToId: replyToId,
            chatKind: kind, chatTitle: peers.reference(chatId)?.title)
    }
}

/// (chatId, message id) pairs already emitted in this run, so no message is emitted twice
/// (a difference after a reconnect may repeat what was pushed). Bounded: the oldest half is
/// forgotten past `limit` (ids are increasing per chat, so those are the ones that will not recur).
struct MessageLedger {
    struct Key: Hashable {
        var chatId: String
        var id: Int32
    }

    private var seen: Set<Key> = []
    private var order: [Key] = []
    private var start = 0
    let limit: Int

    init(limit: Int = 100_000) {
        self.limit = limit
    }

    /// True when the message was not seen before (and is now).
    mutating func insert(chatId: String, id: Int32) -> Bool {
        let key = Key(chatId: chatId, id: id)
        guard seen.insert(key).inserted else { return false }
        order.append(key)
        if order.count - start > limit {
            let drop = (order.count - start) / 2
            for index in start..<(start + drop) { seen.remove(order[index]) }
            start += drop
            if start > limit {
                order.removeFirst(start)
                start = 0
            }
        }
        return true
    }

    func contains(chatId: String, id: Int32) -> Bool { seen.contains(Key(chatId: chatId, id: id)) }
}
