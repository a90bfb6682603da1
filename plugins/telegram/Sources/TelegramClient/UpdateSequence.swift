import TelegramAPI

/// Which sequence an update belongs to (core.telegram.org/api/updates): the common pts box
/// (private chats and basic groups), qts (secret chats and bot events), a channel's own pts, or none.
enum UpdateSequence: Equatable {
    case none
    case common(pts: Int32, count: Int32)
    case qts(Int32)
    case channel(id: Int64, pts: Int32, count: Int32)

    init(_ update: Api.Update) {
        switch update {
        case .updateNewMessage(let u): self = .common(pts: u.pts, count: u.ptsCount)
        case .updateDeleteMessages(let u): self = .common(pts: u.pts, count: u.ptsCount)
        case .updateReadHistoryInbox(let u): self = .common(pts: u.pts, count: u.ptsCount)
        case .updateReadHistoryOutbox(let u): self = .common(pts: u.pts, count: u.ptsCount)
        case .updateWebPage(let u): self = .common(pts: u.pts, count: u.ptsCount)
        case .updateReadMessagesContents(let u): self = .common(pts: u.pts, count: u.ptsCount)
        case .updateEditMessage(let u): self = .common(pts: u.pts, count: u.ptsCount)
        case .updateFolderPeers(let u): self = .common(pts: u.pts, count: u.ptsCount)
        case .updatePinnedMessages(let u): self = .common(pts: u.pts, count: u.ptsCount)

        case .updateNewEncryptedMessage(let u): self = .qts(u.qts)
        case .updateMessagePollVote(let u): self = .qts(u.qts)
        case .updateChatParticipant(let u): self = .qts(u.qts)
        case .updateChannelParticipant(let u): self = .qts(u.qts)
        case .updateBotStopped(let u): self = .qts(u.qts)

        case .updateNewChannelMessage(let u):
            self = Self.channel(of: u.message).map { .channel(id: $0, pts: u.pts, count: u.ptsCount) } ?? .none
        case .updateEditChannelMessage(let u):
            self = Self.channel(of: u.message).map { .channel(id: $0, pts: u.pts, count: u.ptsCount) } ?? .none
        case .updateDeleteChannelMessages(let u): self = .channel(id: u.channelId, pts: u.pts, count: u.ptsCount)
        case .updateChannelWebPage(let u): self = .channel(id: u.channelId, pts: u.pts, count: u.ptsCount)
        case .updatePinnedChannelMessages(let u): self = .channel(id: u.channelId, pts: u.pts, count: u.ptsCount)
        default: self = .none
        }
    }

    static func channel(of message: Api.Message) -> Int64? {
        let peer: Api.Peer?
        switch message {
        case .message(let m): peer = m.peerId
        case .messageService(let m): peer = m.peerId
        case .messageEmpty(let m): peer = m.peerId
        }
        if case .peerChannel(let channel) = peer { return channel.channelId }
        return nil
    }
}

/// The short forms of Updates expanded into the full updates they stand for.
enum ShortUpdates {
    /// updateShortMessage: a private message; `user_id` is the other party whichever way it went.
    static func expand(_ short: Api.Types.UpdateShortMessage) -> Api.Update {
        let message = Api.Types.Message(
            out: short.out, mentioned: short.mentioned, mediaUnread: short.mediaUnread, silent: short.silent,
            id: short.id, fromId: short.out ? nil : .peerUser(.init(userId: short.userId)),
            peerId: .peerUser(.init(userId: short.userId)), fwdFrom: short.fwdFrom, viaBotId: short.viaBotId,
            replyTo: short.replyTo, date: short.date, message: short.message, entities: short.entities,
            ttlPeriod: short.ttlPeriod)
        return .updateNewMessage(.init(message: .message(message), pts: short.pts, ptsCount: short.ptsCount))
    }

    /// updateShortChatMessage: a message in a basic group.
    static func expand(_ short: Api.Types.UpdateShortChatMessage) -> Api.Update {
        let message = Api.Types.Message(
            out: short.out, mentioned: short.mentioned, mediaUnread: short.mediaUnread, silent: short.silent,
            id: short.id, fromId: .peerUser(.init(userId: short.fromId)), peerId: .peerChat(.init(chatId: short.chatId)),
            fwdFrom: short.fwdFrom, viaBotId: short.viaBotId, replyTo: short.replyTo, date: short.date,
            message: short.message, entities: short.entities, ttlPeriod: short.ttlPeriod)
        return .updateNewMessage(.init(message: .message(message), pts: short.pts, ptsCount: short.ptsCount))
    }
}
