import Foundation
import TelegramAPI

/// Dialogs (messages.getDialogs with offset pagination), sending (messages.sendMessage, both answer
/// forms, RANDOM_ID_DUPLICATE) and read receipts (messages.readHistory / channels.readHistory).
extension TelegramClient {
    public func dialogs(limit: Int, cursor: String?) async throws -> DialogPage {
        try requireLoggedIn()
        let limit = max(1, min(limit, 100))
        var offsetDate: Int32 = 0
        var offsetId: Int32 = 0
        var offsetPeer: Api.InputPeer = .inputPeerEmpty(.init())
        if let cursor {
            guard let parsed = DialogCursor(cursor) else { throw TelegramClientError.invalidState("not a dialogs cursor: \(cursor)") }
            offsetDate = parsed.offsetDate
            offsetId = parsed.offsetId
            offsetPeer = (try? directory.inputPeer(parsed.chatId)) ?? .inputPeerEmpty(.init())
        }
        let result = try await call(Api.Functions.messages.GetDialogs(
            offsetDate: offsetDate, offsetId: offsetId, offsetPeer: offsetPeer, limit: Int32(limit), hash: 0))
        let dialogs: [Api.Dialog], messages: [Api.Message], users: [Api.User], chats: [Api.Chat]
        let total: Int
        let complete: Bool
        switch result {
        case .dialogs(let all):
            (dialogs, messages, users, chats) = (all.dialogs, all.messages, all.users, all.chats)
            total = all.dialogs.count
            complete = true
        case .dialogsSlice(let slice):
            (dialogs, messages, users, chats) = (slice.dialogs, slice.messages, slice.users, slice.chats)
            total = Int(slice.count)
            complete = false
        case .dialogsNotModified(let notModified):
            return DialogPage(dialogs: [], nextCursor: nil, totalCount: Int(notModified.count))
        }
        learn(users: users, chats: chats)

        var byKey: [MessageLedger.Key: Api.Message] = [:]
        for message in messages {
            guard let (chatId, id, _) = Self.identity(of: message) else { continue }
            byKey[MessageLedger.Key(chatId: chatId, id: id)] = message
        }
        let converter = MessageConverter(peers: directory, selfUserId: session.userId)
        var page: [TelegramDialog] = []
        var last: DialogCursor?
        for case .dialog(let dialog) in dialogs {
            if updatesRunning, case .peerChannel(let channel) = dialog.peer, let pts = dialog.pts {
                engine.learnChannelPts(channel.channelId, pts: pts)
            }
            let chatId = ChatID.of(dialog.peer)
            let reference = directory.reference(chatId)
            let top = byKey[MessageLedger.Key(chatId: chatId, id: dialog.topMessage)]
            page.append(TelegramDialog(
                chatId: chatId, kind: directory.kind(of: dialog.peer), title: reference?.title ?? chatId,
                username: reference?.username, unreadCount: Int(dialog.unreadCount),
                lastMessage: top.flatMap(converter.convert)))
            if let top, let (_, _, date) = Self.identity(of: top) {
                last = DialogCursor(offsetDate: date, offsetId: dialog.topMessage, chatId: chatId)
            }
        }
        let more = !complete && dialogs.count >= limit && last != nil
        return DialogPage(dialogs: page, nextCursor: more ? last?.encoded : nil, totalCount: total)
    }

    /// Sends `text`; `randomId` makes the send idempotent (the adapter derives it from its own key).
    /// Our own sends are this method's result and are not emitted as `.newMessage`.
    public func sendMessage(chatId: String, text: String, replyTo: Int32?, randomId: Int64) async throws -> TelegramMessage {
        try requireLoggedIn()
        if let known = sentByRandomId[randomId] { return known }
        let peer = try directory.inputPeer(chatId)
        let result: Result<Api.Updates, TelegramClientError>
        do {
            result = .success(try await call(Api.Functions.messages.SendMessage(
                peer: peer, replyTo: replyTo.map { .inputReplyToMessage(.init(replyToMsgId: $0)) },
                message: text, randomId: randomId)))
        } catch {
            result = .failure(error)
        }
        let updates: Api.Updates
        switch result {
        case .success(let value):
            updates = value
        case .failure(.rpc(let code, "RANDOM_ID_DUPLICATE")):
            // Sent before (by an earlier run): the original is the newest outgoing message with this text.
            if let known = sentByRandomId[randomId] { return known }
            if let original = try await findSent(peer: peer, chatId: chatId, text: text) { return original }
            throw TelegramClientError.rpc(code: code, message: "RANDOM_ID_DUPLICATE")
        case .failure(let error):
            throw error
        }
        let message = sentMessage(in: updates, randomId: randomId, chatId: chatId, text: text, replyTo: replyTo)
        if let message {
            _ = ledger.insert(chatId: message.chatId, id: message.id)
            sentByRandomId[randomId] = message
        }
        receive(updates)
        guard let message else { throw TelegramClientError.invalidState("the answer to sendMessage names no message") }
        return message
    }

    /// Marks the chat read up to `maxId` (messages.readHistory; channels.readHistory for channels).
    public func markRead(chatId: String, maxId: Int32) async throws {
        try requireLoggedIn()
        if case .channel(let id) = directory.target(chatId) {
            guard let channel = directory.inputChannel(id) else { throw TelegramClientError.peerInvalid("unknown channel \(chatId) (no access hash yet)") }
            _ = try await call(Api.Functions.channels.ReadHistory(channel: channel, maxId: maxId))
            return
        }
        let peer = try directory.inputPeer(chatId)
        let affected = try await call(Api.Functions.messages.ReadHistory(peer: peer, maxId: maxId))
        if case .affectedMessages(let value) = affected, updatesRunning {
            run(engine.receiveAffected(pts: value.pts, ptsCount: value.ptsCount))
        }
    }

    // MARK: Helpers

    func learn(users: [Api.User], chats: [Api.Chat]) {
        if directory.learn(users: users, chats: chats) { scheduleStateFlush() }
    }

    /// The chat, id and date of a message.
    static func identity(of message: Api.Message) -> (chatId: String, id: Int32, date: Int32)? {
        switch message {
        case .message(let m): (ChatID.of(m.peerId), m.id, m.date)
        case .messageService(let m): (ChatID.of(m.peerId), m.id, m.date)
        case .messageEmpty: nil
        }
    }

    /// Our message in sendMessage's answer: updateShortSentMessage, or updateMessageID (our random id)
    /// and the updateNewMessage / updateNewChannelMessage with that id.
    private func sentMessage(in updates: Api.Updates, randomId: Int64, chatId: String, text: String, replyTo: Int32?) -> TelegramMessage? {
        func own(id: Int32, date: Int32) -> TelegramMessage {
            let reference = directory.reference(chatId)
            return TelegramMessage(
                chatId: chatId, id: id, date: Date(timeIntervalSince1970: TimeInterval(date)), text: text, outgoing: true,
                senderId: session.userId, senderName: session.user?.displayName, replyToId: replyTo,
                chatKind: reference?.kind ?? (directory.target(chatId).map { if case .chat = $0 { .group } else { .user } } ?? .user),
                chatTitle: reference?.title)
        }
        let list: [Api.Update]
        switch updates {
        case .updateShortSentMessage(let short):
            return own(id: short.id, date: short.date)
        case .updates(let container):
            learn(users: container.users, chats: container.chats)
            list = container.updates
        case .updatesCombined(let container):
            learn(users: container.users, chats: container.chats)
            list = container.updates
        case .updateShort(let short):
            list = [short.update]
        case .updatesTooLong, .updateShortMessage, .updateShortChatMessage:
            return nil
        }
        var id: Int32?
        for case .updateMessageID(let mapping) in list where mapping.randomId == randomId { id = mapping.id }
        let converter = MessageConverter(peers: directory, selfUserId: session.userId)
        for update in list {
            let message: Api.Message
            switch update {
            case .updateNewMessage(let u): message = u.message
            case .updateNewChannelMessage(let u): message = u.message
            default: continue
            }
            guard let identity = Self.identity(of: message), identity.chatId == chatId, id == nil || identity.id == id,
                  var converted = converter.convert(message), converted.outgoing else { continue }
            if converted.replyToId == nil { converted.replyToId = replyTo }
            return converted
        }
        return id.map { own(id: $0, date: Int32(Date().timeIntervalSince1970)) }
    }

    private func findSent(peer: Api.InputPeer, chatId: String, text: String) async throws -> TelegramMessage? {
        let history = try await call(Api.Functions.messages.GetHistory(
            peer: peer, offsetId: 0, offsetDate: 0, addOffset: 0, limit: 50, maxId: 0, minId: 0, hash: 0))
        let (messages, users, chats) = Self.contents(of: history)
        learn(users: users, chats: chats)
        let converter = MessageConverter(peers: directory, selfUserId: session.userId)
        return messages.compactMap(converter.convert)
            .filter { $0.outgoing && $0.chatId == chatId && $0.text == text }
            .max { $0.id < $1.id }
    }

    static func contents(of result: Api.messages.Messages) -> ([Api.Message], [Api.User], [Api.Chat]) {
        switch result {
        case .messages(let m): (m.messages, m.users, m.chats)
        case .messagesSlice(let m): (m.messages, m.users, m.chats)
        case .channelMessages(let m): (m.messages, m.users, m.chats)
        case .messagesNotModified: ([], [], [])
        }
    }
}
