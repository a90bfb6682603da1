import MTProto
import TelegramAPI

/// The update sequences: each user's common sequence (pts for private chats and basic groups, seq
/// for `updates` containers), each channel's pts; pushes to the user's sessions on their home DC;
/// updates.getState, updates.getDifference (slices, too long) and updates.getChannelDifference.
extension FakeTelegramWorld {
    // MARK: Recording

    /// Appends a message to `owner`'s box: a new event of its common sequence (pts + 1).
    func appendToBox(_ owner: Int64, peer: WorldPeer, from: Int64, out: Bool, text: String, date: Int32, serial: Int64,
                     replyTo: Int32?, action: WorldMessage.Action?) -> (message: WorldMessage, pts: Int32) {
        let id = users[owner]!.nextMessageId
        users[owner]!.nextMessageId += 1
        let message = WorldMessage(id: id, peer: peer, fromId: from, out: out, date: date, text: text, replyTo: replyTo,
                                   action: action, serial: serial)
        users[owner]!.box.append(message)
        users[owner]!.pts += 1
        let pts = users[owner]!.pts
        users[owner]!.events.append(CommonEvent(pts: pts, ptsCount: 1, date: date, kind: .message(id), peers: [peer]))
        return (message, pts)
    }

    /// Appends an update that carries its own pts (read inbox/outbox) to `owner`'s sequence.
    func recordUpdate(_ owner: Int64, peers: [WorldPeer], date: Int32, _ make: (Int32) -> Api.Update) -> Api.Update {
        users[owner]!.pts += 1
        let update = make(users[owner]!.pts)
        users[owner]!.events.append(CommonEvent(pts: users[owner]!.pts, ptsCount: 1, date: date, kind: .update(update), peers: peers))
        return update
    }

    /// The next seq of `owner`'s `updates` containers.
    func nextSeq(_ owner: Int64) -> Int32 {
        users[owner]!.seq += 1
        return users[owner]!.seq
    }

    /// A message of `owner`'s box by id (box ids are 1, 2, 3, … with none deleted).
    func boxMessage(_ owner: Int64, id: Int32) -> WorldMessage? {
        guard let box = users[owner]?.box, id >= 1, Int(id) <= box.count else { return nil }
        return box[Int(id) - 1]
    }

    /// The id in `owner`'s box of the copy of the message created with `serial`.
    func boxId(ofSerial serial: Int64, in owner: Int64) -> Int32? {
        users[owner]?.box.last(where: { $0.serial == serial })?.id
    }

    /// The channel pts up to which `user` has been given every update: advances only without a gap.
    func markChannelSeen(_ user: Int64, channel: Int64, pts: Int32) {
        if (users[user]?.channelPtsSeen[channel] ?? 0) == pts - 1 { users[user]?.channelPtsSeen[channel] = pts }
    }

    // MARK: Pushing

    /// Sends `updates` to every session of `userId` on their home DC (except `except`), unless withheld.
    func push(_ updates: Api.Updates, to userId: Int64, except: KeyRef? = nil) {
        guard let user = users[userId], !user.withheld else { return }
        let bytes = updates.serialized()
        for (ref, owner) in authorizations where owner == userId && ref != except && ref.dc == user.homeDc {
            if let dataCenter = dataCenters[ref.dc] { outbox.yield(.push(dataCenter, ref.key, bytes)) }
        }
    }

    /// One update pushed as updateShort (no seq: only `updates` containers that every session of
    /// the user receives take a seq, so a session answered otherwise never sees a seq gap).
    func pushShort(_ update: Api.Update, to owner: Int64, except: KeyRef? = nil) {
        push(.updateShort(Api.Types.UpdateShort(update: update, date: now)), to: owner, except: except)
    }

    // MARK: State

    func unreadCount(of userId: Int64) -> Int32 {
        guard let user = users[userId] else { return 0 }
        var count = 0
        for message in user.box where !message.out && message.id > (user.reads[message.peer]?.readInboxMaxId ?? 0) { count += 1 }
        for channel in channels.values where channel.members.contains(userId) {
            let read = channel.readInbox[userId] ?? 0
            count += channel.messages.reduce(0) { $0 + ($1.id > read && $1.fromId != userId ? 1 : 0) }
        }
        return Int32(count)
    }

    func apiState(of userId: Int64) -> Api.updates.State {
        let user = users[userId]!
        return .state(Api.Types.updates.State(pts: user.pts, qts: 0, date: now, seq: user.seq, unreadCount: unreadCount(of: userId)))
    }

    func getState(_ caller: Caller) throws -> Api.updates.State {
        apiState(of: try authorized(caller))
    }

    // MARK: Difference

    /// Everything after the client's pts: `differenceEmpty` when none, `differenceSlice` (with
    /// `intermediate_state`) per `differenceSliceSize` events, `difference` for the last part,
    /// `differenceTooLong` when the client is more than `differenceTooLongAfter` (or its
    /// pts_total_limit) behind. Channels with updates the user was not sent appear as
    /// updateChannelTooLong (call updates.getChannelDifference for them).
    func getDifference(_ request: Api.Functions.updates.GetDifference, _ caller: Caller) throws -> Api.updates.Difference {
        let me = try authorized(caller)
        let user = users[me]!
        guard request.pts >= 0, request.pts <= user.pts else { throw RPCError.badRequest("PERSISTENT_TIMESTAMP_INVALID") }
        let behind = user.pts - request.pts
        let tooLongAfter = min(request.ptsTotalLimit ?? .max, configuration.differenceTooLongAfter)
        if behind > tooLongAfter {
            return .differenceTooLong(Api.Types.updates.DifferenceTooLong(pts: user.pts))
        }
        let laggingChannels = channels.values
            .filter { $0.members.contains(me) && $0.pts > (user.channelPtsSeen[$0.id] ?? 0) }
            .sorted { $0.id < $1.id }
        if behind == 0 && laggingChannels.isEmpty {
            return .differenceEmpty(Api.Types.updates.DifferenceEmpty(date: now, seq: user.seq))
        }
        let start = user.events.firstIndex { $0.pts > request.pts } ?? user.events.count
        let limit = max(1, min(configuration.differenceSliceSize, Int(request.ptsLimit ?? .max)))
        let slice = user.events[start...].prefix(limit)
        let isLast = start + slice.count == user.events.count
        var newMessages: [WorldMessage] = []
        var otherUpdates: [Api.Update] = []
        var peers: [WorldPeer] = []
        for event in slice {
            switch event.kind {
            case .message(let id):
                if let message = boxMessage(me, id: id) { newMessages.append(message) }
            case .update(let update):
                otherUpdates.append(update)
                peers.append(contentsOf: event.peers)
            }
        }
        if isLast {
            for channel in laggingChannels {
                otherUpdates.append(.updateChannelTooLong(Api.Types.UpdateChannelTooLong(channelId: channel.id, pts: channel.pts)))
                peers.append(.channel(channel.id))
            }
        }
        let (userList, chatList) = entities(of: newMessages, extraPeers: peers, for: me)
        let rendered = newMessages.map { renderMessage($0, for: me) }
        if isLast {
            return .difference(Api.Types.updates.Difference(newMessages: rendered, newEncryptedMessages: [], otherUpdates: otherUpdates,
                                                            chats: chatList, users: userList, state: apiState(of: me)))
        }
        let last = slice.last!
        let intermediate = Api.Types.updates.State(pts: last.pts, qts: 0, date: last.date, seq: user.seq, unreadCount: unreadCount(of: me))
        return .differenceSlice(Api.Types.updates.DifferenceSlice(newMessages: rendered, newEncryptedMessages: [], otherUpdates: otherUpdates,
                                                                  chats: chatList, users: userList, intermediateState: .state(intermediate)))
    }

    /// A channel's events after the client's pts: `channelDifferenceEmpty`, `channelDifference`,
    /// or `channelDifferenceTooLong` (the dialog and the latest messages) when pts + limit < the
    /// channel's pts. Always `final`.
    func getChannelDifference(_ request: Api.Functions.updates.GetChannelDifference, _ caller: Caller) throws -> Api.updates.ChannelDifference {
        let me = try authorized(caller)
        let channelId = try resolveChannel(request.channel, for: me)
        let channel = channels[channelId]!
        guard request.pts >= 0, request.pts <= channel.pts else { throw RPCError.badRequest("PERSISTENT_TIMESTAMP_INVALID") }
        let limit = request.limit <= 0 ? 100 : min(request.limit, 100)
        users[me]!.channelPtsSeen[channelId] = channel.pts
        if request.pts == channel.pts {
            return .channelDifferenceEmpty(Api.Types.updates.ChannelDifferenceEmpty(final: true, pts: channel.pts, timeout: 30))
        }
        if request.pts + limit < channel.pts {
            let latest = Array(channel.messages.suffix(Int(limit)).reversed())
            let (userList, chatList) = entities(of: latest, extraPeers: [.channel(channelId)], for: me)
            return .channelDifferenceTooLong(Api.Types.updates.ChannelDifferenceTooLong(
                final: true, timeout: 30, dialog: channelDialog(channel, for: me).dialog,
                messages: latest.map { renderMessage($0, for: me) }, chats: chatList, users: userList))
        }
        let messages = channel.events.filter { $0.pts > request.pts }.map { channel.messages[Int($0.messageId) - 1] }
        let (userList, chatList) = entities(of: messages, extraPeers: [.channel(channelId)], for: me)
        return .channelDifference(Api.Types.updates.ChannelDifference(
            final: true, pts: channel.pts, timeout: 30, newMessages: messages.map { renderMessage($0, for: me) }, otherUpdates: [],
            chats: chatList, users: userList))
    }
}
