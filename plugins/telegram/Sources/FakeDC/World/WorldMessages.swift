import Foundation
import MTProto
import TelegramAPI

/// Chats and messages: resolving input peers, sending (private, basic group, channel) with the
/// pushes each participant gets, dialogs with offset pagination, history, read receipts, users
/// and usernames.
extension FakeTelegramWorld {
    // MARK: Peers

    /// The chat an InputPeer names for `me`: 400 PEER_ID_INVALID for unknown users/chats or a wrong
    /// access hash; channels: 400 CHANNEL_INVALID (unknown, wrong hash), 400 CHANNEL_PRIVATE (not a member).
    func resolvePeer(_ input: Api.InputPeer, for me: Int64) throws -> WorldPeer {
        switch input {
        case .inputPeerSelf:
            return .user(me)
        case .inputPeerUser(let peer):
            guard let user = users[peer.userId], user.accessHash == peer.accessHash else { throw RPCError.badRequest("PEER_ID_INVALID") }
            return .user(peer.userId)
        case .inputPeerChat(let peer):
            guard chats[peer.chatId] != nil else { throw RPCError.badRequest("PEER_ID_INVALID") }
            return .chat(peer.chatId)
        case .inputPeerChannel(let peer):
            return .channel(try channel(peer.channelId, accessHash: peer.accessHash, for: me))
        case .inputPeerEmpty, .inputPeerUserFromMessage, .inputPeerChannelFromMessage:
            throw RPCError.badRequest("PEER_ID_INVALID")
        }
    }

    func resolveChannel(_ input: Api.InputChannel, for me: Int64) throws -> Int64 {
        guard case .inputChannel(let value) = input else { throw RPCError.badRequest("CHANNEL_INVALID") }
        return try channel(value.channelId, accessHash: value.accessHash, for: me)
    }

    private func channel(_ id: Int64, accessHash: Int64, for me: Int64) throws -> Int64 {
        guard let channel = channels[id], channel.accessHash == accessHash else { throw RPCError.badRequest("CHANNEL_INVALID") }
        guard channel.members.contains(me) else { throw RPCError.badRequest("CHANNEL_PRIVATE") }
        return id
    }

    // MARK: Sending

    struct PrivateSend {
        let senderMessage: WorldMessage
        let senderPts: Int32
        let recipientMessage: WorldMessage?
    }

    /// A private message in both boxes. Each side's sessions get updateShortMessage, or `updates`
    /// with updateNewMessage and the other user when their box had no message with that user yet
    /// (the client would not know the user otherwise). `senderKey` (the sending session, answered
    /// with updateShortSentMessage) gets nothing, and then the sender's other sessions get the short
    /// form: a seq they could see only there would look like a gap to the sending session.
    func sendPrivate(from: Int64, to: Int64, text: String, replyToSerial: Int64?, senderKey: KeyRef?) -> PrivateSend {
        let serial = serial()
        let date = now
        let sides: [(owner: Int64, peer: Int64, out: Bool)] = from == to ? [(from, to, true)] : [(from, to, true), (to, from, false)]
        var results: [(message: WorldMessage, pts: Int32)] = []
        for side in sides {
            let firstContact = !(users[side.owner]!.box.contains { $0.peer == .user(side.peer) })
            let replyTo = replyToSerial.flatMap { boxId(ofSerial: $0, in: side.owner) }
            let (message, pts) = appendToBox(side.owner, peer: .user(side.peer), from: from, out: side.out, text: text, date: date,
                                             serial: serial, replyTo: replyTo, action: nil)
            results.append((message, pts))
            let except = side.out ? senderKey : nil
            if firstContact && side.peer != side.owner && !(side.out && senderKey != nil) {
                let update = Api.Update.updateNewMessage(Api.Types.UpdateNewMessage(message: renderMessage(message, for: side.owner),
                                                                                    pts: pts, ptsCount: 1))
                let (users, chats) = entities(of: [message], extraPeers: [.user(side.peer)], for: side.owner)
                push(.updates(Api.Types.Updates(updates: [update], users: users, chats: chats, date: date, seq: nextSeq(side.owner))),
                     to: side.owner, except: except)
            } else {
                let header = replyTo.map { Api.MessageReplyHeader.messageReplyHeader(Api.Types.MessageReplyHeader(replyToMsgId: $0)) }
                push(.updateShortMessage(Api.Types.UpdateShortMessage(out: side.out, id: message.id, userId: side.peer, message: text,
                                                                      pts: pts, ptsCount: 1, date: date, replyTo: header)),
                     to: side.owner, except: except)
            }
        }
        return PrivateSend(senderMessage: results[0].message, senderPts: results[0].pts, recipientMessage: results.count > 1 ? results[1].message : nil)
    }

    struct GroupPost {
        var senderMessage: WorldMessage?
        /// What messages.sendMessage answers the sender: `updates` with updateMessageID + updateNewMessage.
        var senderResult: Api.Updates?
    }

    /// A basic-group message (or service message) in every member's box. Other members get
    /// updateShortChatMessage; the sender's result and its other sessions, and everyone for a
    /// service message, get `updates` with updateNewMessage, the users and the chat.
    @discardableResult
    func postToChat(from: Int64, chatId: Int64, text: String, action: WorldMessage.Action?, replyToSerial: Int64?,
                    randomId: Int64?, senderKey: KeyRef?) -> GroupPost {
        guard let chat = chats[chatId] else { return GroupPost() }
        let serial = serial()
        let date = now
        var post = GroupPost()
        for member in chat.members {
            let replyTo = replyToSerial.flatMap { boxId(ofSerial: $0, in: member) }
            let (message, pts) = appendToBox(member, peer: .chat(chatId), from: from, out: member == from, text: text, date: date,
                                             serial: serial, replyTo: replyTo, action: action)
            if member == from || action != nil {
                let update = Api.Update.updateNewMessage(Api.Types.UpdateNewMessage(message: renderMessage(message, for: member),
                                                                                    pts: pts, ptsCount: 1))
                let (users, chats) = entities(of: [message], extraPeers: [.chat(chatId)], for: member)
                let seq = nextSeq(member)
                if member == from {
                    post.senderMessage = message
                    var list = [update]
                    if let randomId { list.insert(.updateMessageID(Api.Types.UpdateMessageID(id: message.id, randomId: randomId)), at: 0) }
                    post.senderResult = .updates(Api.Types.Updates(updates: list, users: users, chats: chats, date: date, seq: seq))
                }
                push(.updates(Api.Types.Updates(updates: [update], users: users, chats: chats, date: date, seq: seq)),
                     to: member, except: member == from ? senderKey : nil)
            } else {
                let header = replyTo.map { Api.MessageReplyHeader.messageReplyHeader(Api.Types.MessageReplyHeader(replyToMsgId: $0)) }
                push(.updateShortChatMessage(Api.Types.UpdateShortChatMessage(id: message.id, fromId: from, chatId: chatId, message: text,
                                                                              pts: pts, ptsCount: 1, date: date, replyTo: header)),
                     to: member)
            }
        }
        return post
    }

    struct ChannelPost {
        let message: WorldMessage
        var senderResult: Api.Updates?
    }

    /// A channel message (channel pts + 1): every member gets `updates` with updateNewChannelMessage
    /// (seq 0: channel updates are outside the common sequence); the sender's result adds updateMessageID.
    @discardableResult
    func postToChannel(from: Int64, channelId: Int64, text: String, action: WorldMessage.Action?, replyTo: Int32?,
                       randomId: Int64?, senderKey: KeyRef?) -> ChannelPost {
        let date = now
        let id = channels[channelId]!.nextMessageId
        channels[channelId]!.nextMessageId += 1
        channels[channelId]!.pts += 1
        let pts = channels[channelId]!.pts
        let message = WorldMessage(id: id, peer: .channel(channelId), fromId: from, out: false, date: date, text: text,
                                   replyTo: replyTo, action: action, serial: serial())
        channels[channelId]!.messages.append(message)
        channels[channelId]!.events.append(ChannelEvent(pts: pts, ptsCount: 1, messageId: id))
        var post = ChannelPost(message: message)
        for member in channels[channelId]!.members {
            let update = Api.Update.updateNewChannelMessage(Api.Types.UpdateNewChannelMessage(message: renderMessage(message, for: member),
                                                                                              pts: pts, ptsCount: 1))
            let (users, chats) = entities(of: [message], for: member)
            let container = Api.Updates.updates(Api.Types.Updates(updates: [update], users: users, chats: chats, date: date, seq: 0))
            if member == from, let senderKey {
                var list = [update]
                if let randomId { list.insert(.updateMessageID(Api.Types.UpdateMessageID(id: id, randomId: randomId)), at: 0) }
                post.senderResult = .updates(Api.Types.Updates(updates: list, users: users, chats: chats, date: date, seq: 0))
                markChannelSeen(member, channel: channelId, pts: pts)
                push(container, to: member, except: senderKey)
            } else {
                if self.users[member]?.withheld == false { markChannelSeen(member, channel: channelId, pts: pts) }
                push(container, to: member)
            }
        }
        return post
    }

    // MARK: messages.sendMessage

    /// Private chats answer updateShortSentMessage; groups and channels `updates` with
    /// updateMessageID + updateNewMessage/updateNewChannelMessage. Errors: PEER_ID_INVALID,
    /// CHANNEL_INVALID/CHANNEL_PRIVATE, 403 CHAT_WRITE_FORBIDDEN, MESSAGE_EMPTY, MESSAGE_TOO_LONG,
    /// 500 RANDOM_ID_DUPLICATE (a random_id this user already sent).
    func sendMessage(_ request: Api.Functions.messages.SendMessage, _ caller: Caller) throws -> Api.Updates {
        let me = try authorized(caller)
        let peer = try resolvePeer(request.peer, for: me)
        switch peer {
        case .chat(let id):
            guard chats[id]!.members.contains(me) else { throw RPCError.forbidden("CHAT_WRITE_FORBIDDEN") }
        case .channel(let id):
            guard channels[id]!.canPost(me) else { throw RPCError.forbidden("CHAT_WRITE_FORBIDDEN") }
        case .user:
            break
        }
        guard !request.message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw RPCError.badRequest("MESSAGE_EMPTY") }
        guard request.message.count <= 4096 else { throw RPCError.badRequest("MESSAGE_TOO_LONG") }
        guard users[me]!.randomIds.insert(request.randomId).inserted else { throw RPCError.internalError("RANDOM_ID_DUPLICATE") }
        var replyId: Int32?
        if case .inputReplyToMessage(let reply)? = request.replyTo { replyId = reply.replyToMsgId }
        switch peer {
        case .user(let other):
            let serial = replyId.flatMap { boxMessage(me, id: $0) }.flatMap { $0.peer == peer ? $0.serial : nil }
            let sent = sendPrivate(from: me, to: other, text: request.message, replyToSerial: serial, senderKey: caller.ref)
            return .updateShortSentMessage(Api.Types.UpdateShortSentMessage(out: true, id: sent.senderMessage.id, pts: sent.senderPts,
                                                                            ptsCount: 1, date: sent.senderMessage.date))
        case .chat(let id):
            let serial = replyId.flatMap { boxMessage(me, id: $0) }.flatMap { $0.peer == peer ? $0.serial : nil }
            return postToChat(from: me, chatId: id, text: request.message, action: nil, replyToSerial: serial,
                              randomId: request.randomId, senderKey: caller.ref).senderResult!
        case .channel(let id):
            let reply = replyId.flatMap { (1...Int32(channels[id]!.messages.count)).contains($0) ? $0 : nil }
            return postToChannel(from: me, channelId: id, text: request.message, action: nil, replyTo: reply,
                                 randomId: request.randomId, senderKey: caller.ref).senderResult!
        }
    }

    // MARK: Dialogs

    struct DialogEntry {
        let peer: WorldPeer
        let top: WorldMessage
        let dialog: Api.Dialog
    }

    /// The user's dialogs, newest top message first (ties: the later message first).
    func dialogs(of me: Int64) -> [DialogEntry] {
        let user = users[me]!
        var tops: [WorldPeer: WorldMessage] = [:]
        var unread: [WorldPeer: Int32] = [:]
        for message in user.box {
            tops[message.peer] = message
            if !message.out && message.id > (user.reads[message.peer]?.readInboxMaxId ?? 0) { unread[message.peer, default: 0] += 1 }
        }
        var entries = tops.map { peer, top in
            let read = user.reads[peer] ?? DialogReadState()
            return DialogEntry(peer: peer, top: top, dialog: .dialog(Api.Types.Dialog(
                peer: peer.api, topMessage: top.id, readInboxMaxId: read.readInboxMaxId, readOutboxMaxId: read.readOutboxMaxId,
                unreadCount: unread[peer] ?? 0, unreadMentionsCount: 0, unreadReactionsCount: 0,
                notifySettings: .peerNotifySettings(Api.Types.PeerNotifySettings()))))
        }
        for channel in channels.values where channel.members.contains(me) && !channel.messages.isEmpty {
            entries.append(channelDialog(channel, for: me))
        }
        entries.sort { ($0.top.date, $0.top.serial) > ($1.top.date, $1.top.serial) }
        return entries
    }

    func channelDialog(_ channel: ChannelState, for me: Int64) -> DialogEntry {
        let readInbox = channel.readInbox[me] ?? 0
        let unread = channel.messages.reduce(Int32(0)) { $0 + ($1.id > readInbox && $1.fromId != me ? 1 : 0) }
        let readOutbox = channel.readInbox.filter { $0.key != me }.values.max() ?? 0
        let top = channel.messages.last!
        return DialogEntry(peer: .channel(channel.id), top: top, dialog: .dialog(Api.Types.Dialog(
            peer: WorldPeer.channel(channel.id).api, topMessage: top.id, readInboxMaxId: readInbox, readOutboxMaxId: readOutbox,
            unreadCount: unread, unreadMentionsCount: 0, unreadReactionsCount: 0,
            notifySettings: .peerNotifySettings(Api.Types.PeerNotifySettings()), pts: channel.pts)))
    }

    /// messages.getDialogs: dialogs after the offset (the dialog of offset_peer whose top message is
    /// offset_id, else the first one older than offset_date/offset_id), at most `limit` (≤ 100).
    /// `messages.dialogs` when everything fits in one answer, else `messages.dialogsSlice` with the total count.
    func getDialogs(_ request: Api.Functions.messages.GetDialogs, _ caller: Caller) throws -> Api.messages.Dialogs {
        let me = try authorized(caller)
        let all = request.folderId == 1 ? [] : dialogs(of: me)  // nothing is archived
        var start = 0
        let offsetPeer = try? resolvePeer(request.offsetPeer, for: me)
        if let offsetPeer, let index = all.firstIndex(where: { $0.peer == offsetPeer && $0.top.id == request.offsetId }) {
            start = index + 1
        } else if request.offsetDate != 0 || request.offsetId != 0 {
            let date = request.offsetDate == 0 ? Int32.max : request.offsetDate
            start = all.firstIndex { $0.top.date < date || ($0.top.date == date && $0.top.id < request.offsetId) } ?? all.count
        }
        let limit = request.limit <= 0 ? 100 : Int(min(request.limit, 100))
        let page = Array(all[start..<min(all.count, start + limit)])
        let tops = page.map(\.top)
        let (userList, chatList) = entities(of: tops, extraPeers: page.map(\.peer), for: me)
        let dialogs = page.map(\.dialog)
        let messages = tops.map { renderMessage($0, for: me) }
        if start == 0 && page.count == all.count {
            return .dialogs(Api.Types.messages.Dialogs(dialogs: dialogs, messages: messages, chats: chatList, users: userList))
        }
        return .dialogsSlice(Api.Types.messages.DialogsSlice(count: Int32(all.count), dialogs: dialogs, messages: messages,
                                                             chats: chatList, users: userList))
    }

    // MARK: History

    /// messages.getHistory: newest first from offset_id (exclusive) or offset_date, shifted by
    /// add_offset, at most `limit`, within (min_id, max_id). `messages.messages` when the whole
    /// history fits, else `messages.messagesSlice`; channels answer `messages.channelMessages`.
    func getHistory(_ request: Api.Functions.messages.GetHistory, _ caller: Caller) throws -> Api.messages.Messages {
        let me = try authorized(caller)
        let peer = try resolvePeer(request.peer, for: me)
        let list: [WorldMessage]
        switch peer {
        case .channel(let id):
            list = channels[id]!.messages
        case .chat, .user:
            list = users[me]!.box.filter { $0.peer == peer }
        }
        let descending = Array(list.reversed())
        var start = 0
        if request.offsetId > 0 {
            start = descending.firstIndex { $0.id < request.offsetId } ?? descending.count
        } else if request.offsetDate > 0 {
            start = descending.firstIndex { $0.date < request.offsetDate } ?? descending.count
        }
        start = max(0, min(descending.count, start + Int(request.addOffset)))
        let limit = request.limit <= 0 ? 20 : Int(min(request.limit, 100))
        let page = descending[start..<min(descending.count, start + limit)]
            .filter { (request.maxId <= 0 || $0.id < request.maxId) && (request.minId <= 0 || $0.id > request.minId) }
        let (userList, chatList) = entities(of: page, extraPeers: [peer], for: me)
        let rendered = page.map { renderMessage($0, for: me) }
        if case .channel(let id) = peer {
            return .channelMessages(Api.Types.messages.ChannelMessages(pts: channels[id]!.pts, count: Int32(list.count), offsetIdOffset: Int32(start),
                                                                       messages: rendered, topics: [], chats: chatList, users: userList))
        }
        if start == 0 && page.count == list.count {
            return .messages(Api.Types.messages.Messages(messages: rendered, chats: chatList, users: userList))
        }
        return .messagesSlice(Api.Types.messages.MessagesSlice(count: Int32(list.count), offsetIdOffset: Int32(start), messages: rendered,
                                                               chats: chatList, users: userList))
    }

    // MARK: Read receipts

    /// messages.readHistory (private chats and basic groups): the reader's updateReadHistoryInbox
    /// (pts + 1, pushed to its other sessions) and each sender's updateReadHistoryOutbox.
    func readHistory(_ request: Api.Functions.messages.ReadHistory, _ caller: Caller) throws -> Api.messages.AffectedMessages {
        let me = try authorized(caller)
        let peer = try resolvePeer(request.peer, for: me)
        if case .channel = peer { throw RPCError.badRequest("PEER_ID_INVALID") }  // channels.readHistory
        let changed = readInbox(me, peer: peer, maxId: request.maxId, except: caller.ref)
        return .affectedMessages(Api.Types.messages.AffectedMessages(pts: users[me]!.pts, ptsCount: changed ? 1 : 0))
    }

    /// Marks `peer` read up to `maxId` (0: everything) for `me`; false when nothing changed.
    func readInbox(_ me: Int64, peer: WorldPeer, maxId: Int32, except: KeyRef?) -> Bool {
        let inPeer = users[me]!.box.filter { $0.peer == peer }
        guard let top = inPeer.last?.id else { return false }
        let newMax = maxId <= 0 ? top : min(maxId, top)
        guard newMax > (users[me]!.reads[peer]?.readInboxMaxId ?? 0) else { return false }
        users[me]!.reads[peer, default: DialogReadState()].readInboxMaxId = newMax
        let stillUnread = Int32(inPeer.filter { !$0.out && $0.id > newMax }.count)
        let date = now
        let inbox = recordUpdate(me, peers: [peer], date: date) {
            .updateReadHistoryInbox(Api.Types.UpdateReadHistoryInbox(peer: peer.api, maxId: newMax, stillUnreadCount: stillUnread,
                                                                     pts: $0, ptsCount: 1))
        }
        pushShort(inbox, to: me, except: except)
        guard let readSerial = inPeer.last(where: { $0.id <= newMax })?.serial else { return true }
        let others: [Int64]
        switch peer {
        case .user(let other): others = other == me ? [] : [other]
        case .chat(let id): others = chats[id]?.members.filter { $0 != me } ?? []
        case .channel: others = []
        }
        for other in others {
            let theirPeer: WorldPeer = if case .user = peer { .user(me) } else { peer }
            guard let theirMax = users[other]!.box.last(where: { $0.peer == theirPeer && $0.out && $0.serial <= readSerial })?.id,
                  theirMax > (users[other]!.reads[theirPeer]?.readOutboxMaxId ?? 0) else { continue }
            users[other]!.reads[theirPeer, default: DialogReadState()].readOutboxMaxId = theirMax
            let outbox = recordUpdate(other, peers: [theirPeer], date: date) {
                .updateReadHistoryOutbox(Api.Types.UpdateReadHistoryOutbox(peer: theirPeer.api, maxId: theirMax, pts: $0, ptsCount: 1))
            }
            pushShort(outbox, to: other)
        }
        return true
    }

    /// channels.readHistory: the member's read mark; its other sessions get updateReadChannelInbox,
    /// the authors of the messages read get updateReadChannelOutbox.
    func readChannelHistory(_ request: Api.Functions.channels.ReadHistory, _ caller: Caller) throws -> Bool {
        let me = try authorized(caller)
        let id = try resolveChannel(request.channel, for: me)
        let channel = channels[id]!
        let top = channel.messages.last?.id ?? 0
        let newMax = request.maxId <= 0 ? top : min(request.maxId, top)
        guard newMax > (channel.readInbox[me] ?? 0) else { return true }
        channels[id]!.readInbox[me] = newMax
        let stillUnread = Int32(channel.messages.filter { $0.id > newMax && $0.fromId != me }.count)
        pushShort(.updateReadChannelInbox(Api.Types.UpdateReadChannelInbox(channelId: id, maxId: newMax, stillUnreadCount: stillUnread,
                                                                           pts: channel.pts)),
                  to: me, except: caller.ref)
        let authors = Set(channel.messages.filter { $0.id <= newMax && $0.fromId != me }.map(\.fromId))
        for author in authors.sorted() where channel.members.contains(author) {
            pushShort(.updateReadChannelOutbox(Api.Types.UpdateReadChannelOutbox(channelId: id, maxId: newMax)), to: author)
        }
        return true
    }

    // MARK: Users

    /// users.getUsers: inputUserSelf and inputUser with the right access hash (others are left out).
    func getUsers(_ request: Api.Functions.users.GetUsers, _ caller: Caller) throws -> [Api.User] {
        let me = try authorized(caller, homeOnly: false)
        return request.id.compactMap { input in
            switch input {
            case .inputUserSelf:
                return renderUser(me, for: me)
            case .inputUser(let user):
                return users[user.userId]?.accessHash == user.accessHash ? renderUser(user.userId, for: me) : nil
            default:
                return nil
            }
        }
    }

    /// contacts.resolveUsername: 400 USERNAME_INVALID (malformed), USERNAME_NOT_OCCUPIED (nobody).
    func resolveUsername(_ request: Api.Functions.contacts.ResolveUsername, _ caller: Caller) throws -> Api.contacts.ResolvedPeer {
        let me = try authorized(caller)
        var name = request.username
        if name.hasPrefix("@") { name.removeFirst() }
        guard (4...32).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw RPCError.badRequest("USERNAME_INVALID")
        }
        guard let user = users.values.first(where: { $0.username?.lowercased() == name.lowercased() }) else {
            throw RPCError.badRequest("USERNAME_NOT_OCCUPIED")
        }
        return .resolvedPeer(Api.Types.contacts.ResolvedPeer(peer: WorldPeer.user(user.id).api, chats: [], users: [renderUser(user.id, for: me)]))
    }
}
