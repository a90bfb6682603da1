import MTProto
import MTProtoCrypto
import TelegramAPI

/// A chat as the world names it: a user (private chat), a basic group or a channel/supergroup.
/// Ids of the three kinds come from disjoint ranges, so an id alone names a chat too.
public enum WorldPeer: Hashable, Sendable {
    case user(Int64)
    case chat(Int64)
    case channel(Int64)

    var api: Api.Peer {
        switch self {
        case .user(let id): .peerUser(Api.Types.PeerUser(userId: id))
        case .chat(let id): .peerChat(Api.Types.PeerChat(chatId: id))
        case .channel(let id): .peerChannel(Api.Types.PeerChannel(channelId: id))
        }
    }
}

/// A message as one user's box (private chats and basic groups: one copy per participant, each
/// with the owner's own id) or a channel (one copy, channel-wide id) stores it.
public struct WorldMessage: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case chatCreate(title: String, users: [Int64])
        case channelCreate(title: String)
    }

    public let id: Int32
    /// The chat, from the box owner's side (for a private chat: the other user).
    public let peer: WorldPeer
    public let fromId: Int64
    /// Sent by the box owner (always false in channels: `out` depends on who looks).
    public let out: Bool
    public let date: Int32
    public let text: String
    public let replyTo: Int32?
    /// Set for service messages (group or channel created).
    public let action: Action?
    /// World-wide order of creation; the copies of one message in several boxes share it.
    let serial: Int64
}

/// A user of the world, as tests see it.
public struct WorldUser: Sendable, Equatable {
    public let id: Int64
    public let accessHash: Int64
    public let phone: String
    public let firstName: String
    public let lastName: String?
    public let username: String?
    public let homeDc: Int32
    public let hasPassword: Bool
}

/// A user's (or a channel's) position in its update sequence.
public struct WorldUpdateState: Sendable, Equatable {
    public let pts: Int32
    public let seq: Int32
}

/// An auth key on one data center (key ids are only unique per DC).
struct KeyRef: Hashable, Sendable {
    let dc: Int32
    let key: Int64
}

/// Who called: the DC that received the call and the caller's auth key.
struct Caller: Sendable {
    let dc: Int32
    let ref: KeyRef

    init(dc: Int32, authKeyId: Int64) {
        self.dc = dc
        ref = KeyRef(dc: dc, key: authKeyId)
    }
}

/// One event of a user's common update sequence (private chats and basic groups).
struct CommonEvent: Sendable {
    enum Kind: Sendable {
        /// A new message in the owner's box (its id).
        case message(Int32)
        /// Any other update carrying its own pts (read inbox/outbox).
        case update(Api.Update)
    }

    let pts: Int32
    let ptsCount: Int32
    let date: Int32
    let kind: Kind
    /// Peers the update mentions (for the users/chats of a difference).
    let peers: [WorldPeer]
}

struct PasswordState: Sendable {
    let salt1: [UInt8]
    let salt2: [UInt8]
    let verifier: [UInt8]
    let hint: String?
    /// The SRP exchange of the last account.getPassword (a new one each call).
    var exchange: (id: Int64, session: SRP.ServerSession)?
}

struct DialogReadState: Sendable {
    var readInboxMaxId: Int32 = 0
    var readOutboxMaxId: Int32 = 0
}

struct UserState: Sendable {
    let id: Int64
    let accessHash: Int64
    let phone: String
    var firstName: String
    var lastName: String?
    var username: String?
    var homeDc: Int32
    var password: PasswordState?
    /// Private and basic-group messages, ascending ids.
    var box: [WorldMessage] = []
    var nextMessageId: Int32 = 1
    var pts: Int32 = 0
    var seq: Int32 = 0
    var events: [CommonEvent] = []
    var reads: [WorldPeer: DialogReadState] = [:]
    var randomIds: Set<Int64> = []
    /// Pushes are dropped (the sequence still advances): the client must find the gap.
    var withheld = false
    /// Per channel, the pts up to which this user was sent every update (pushed or by difference).
    var channelPtsSeen: [Int64: Int32] = [:]

    var info: WorldUser {
        WorldUser(id: id, accessHash: accessHash, phone: phone, firstName: firstName, lastName: lastName, username: username,
                  homeDc: homeDc, hasPassword: password != nil)
    }
}

struct BasicChatState: Sendable {
    let id: Int64
    let title: String
    let creator: Int64
    var members: [Int64]
    let date: Int32
    var version: Int32 = 1
}

struct ChannelEvent: Sendable {
    let pts: Int32
    let ptsCount: Int32
    let messageId: Int32
}

struct ChannelState: Sendable {
    let id: Int64
    let accessHash: Int64
    let title: String
    let megagroup: Bool
    let creator: Int64
    var admins: Set<Int64>
    var members: [Int64]
    let date: Int32
    var pts: Int32 = 0
    var messages: [WorldMessage] = []
    var nextMessageId: Int32 = 1
    var events: [ChannelEvent] = []
    var readInbox: [Int64: Int32] = [:]

    func canPost(_ userId: Int64) -> Bool { megagroup ? members.contains(userId) : (creator == userId || admins.contains(userId)) }
}

struct PendingCode: Sendable {
    let phone: String
    let code: String
    let created: Double
}

struct ExportedToken: Sendable {
    let userId: Int64
    let dc: Int32
    let bytes: [UInt8]
}

extension RPCError {
    static func badRequest(_ message: String) -> RPCError { RPCError(code: 400, message: message) }
    static func unauthorized(_ message: String) -> RPCError { RPCError(code: 401, message: message) }
    static func forbidden(_ message: String) -> RPCError { RPCError(code: 403, message: message) }
    static func seeOther(_ message: String) -> RPCError { RPCError(code: 303, message: message) }
    static func internalError(_ message: String) -> RPCError { RPCError(code: 500, message: message) }
}

// MARK: Rendering (the world's state as the API's types, from one user's side)

extension FakeTelegramWorld {
    func renderUser(_ id: Int64, for viewer: Int64) -> Api.User {
        guard let user = users[id] else { return .userEmpty(Api.Types.UserEmpty(id: id)) }
        let isSelf = id == viewer
        return .user(Api.Types.User(
            isSelf: isSelf, id: id, accessHash: user.accessHash, firstName: user.firstName, lastName: user.lastName,
            username: user.username, phone: isSelf ? user.phone : nil,
            photo: .userProfilePhotoEmpty(Api.Types.UserProfilePhotoEmpty()),
            status: .userStatusRecently(Api.Types.UserStatusRecently())))
    }

    func renderChat(_ peer: WorldPeer, for viewer: Int64) -> Api.Chat? {
        switch peer {
        case .user:
            return nil
        case .chat(let id):
            guard let chat = chats[id] else { return .chatEmpty(Api.Types.ChatEmpty(id: id)) }
            guard chat.members.contains(viewer) else { return .chatForbidden(Api.Types.ChatForbidden(id: id, title: chat.title)) }
            return .chat(Api.Types.Chat(
                creator: chat.creator == viewer, id: id, title: chat.title, photo: .chatPhotoEmpty(Api.Types.ChatPhotoEmpty()),
                participantsCount: Int32(chat.members.count), date: chat.date, version: chat.version))
        case .channel(let id):
            guard let channel = channels[id] else { return .chatEmpty(Api.Types.ChatEmpty(id: id)) }
            return .channel(Api.Types.Channel(
                creator: channel.creator == viewer, left: !channel.members.contains(viewer), broadcast: !channel.megagroup,
                megagroup: channel.megagroup, id: id, accessHash: channel.accessHash, title: channel.title,
                photo: .chatPhotoEmpty(Api.Types.ChatPhotoEmpty()), date: channel.date,
                participantsCount: Int32(channel.members.count)))
        }
    }

    /// A box or channel message as `viewer` sees it.
    func renderMessage(_ message: WorldMessage, for viewer: Int64) -> Api.Message {
        let out: Bool
        let fromId: Api.Peer?
        var post = false
        switch message.peer {
        case .user:
            out = message.out
            // Telegram leaves from_id out of incoming private messages (the peer is the sender).
            fromId = out ? WorldPeer.user(message.fromId).api : nil
        case .chat:
            out = message.out
            fromId = WorldPeer.user(message.fromId).api
        case .channel(let id):
            out = message.fromId == viewer
            let megagroup = channels[id]?.megagroup ?? true
            post = !megagroup
            fromId = megagroup ? WorldPeer.user(message.fromId).api : nil
        }
        let replyTo = message.replyTo.map { Api.MessageReplyHeader.messageReplyHeader(Api.Types.MessageReplyHeader(replyToMsgId: $0)) }
        if let action = message.action {
            let apiAction: Api.MessageAction = switch action {
            case .chatCreate(let title, let users): .messageActionChatCreate(Api.Types.MessageActionChatCreate(title: title, users: users))
            case .channelCreate(let title): .messageActionChannelCreate(Api.Types.MessageActionChannelCreate(title: title))
            }
            return .messageService(Api.Types.MessageService(out: out, post: post, id: message.id, fromId: fromId,
                                                            peerId: message.peer.api, date: message.date, action: apiAction))
        }
        return .message(Api.Types.Message(out: out, post: post, id: message.id, fromId: fromId, peerId: message.peer.api,
                                          replyTo: replyTo, date: message.date, message: message.text))
    }

    /// The users and chats a result mentions, as `viewer` sees them (each once, in first-seen order).
    func entities(userIds: [Int64], peers: [WorldPeer], for viewer: Int64) -> (users: [Api.User], chats: [Api.Chat]) {
        var seenUsers = Set<Int64>()
        var userList: [Api.User] = []
        func addUser(_ id: Int64) {
            if users[id] != nil, seenUsers.insert(id).inserted { userList.append(renderUser(id, for: viewer)) }
        }
        var seenChats = Set<WorldPeer>()
        var chatList: [Api.Chat] = []
        for peer in peers {
            switch peer {
            case .user(let id): addUser(id)
            case .chat, .channel:
                if seenChats.insert(peer).inserted, let chat = renderChat(peer, for: viewer) { chatList.append(chat) }
            }
        }
        for id in userIds { addUser(id) }
        return (userList, chatList)
    }

    func entities(of messages: [WorldMessage], extraPeers: [WorldPeer] = [], for viewer: Int64) -> (users: [Api.User], chats: [Api.Chat]) {
        var userIds: [Int64] = []
        for message in messages {
            userIds.append(message.fromId)
            if case .chatCreate(_, let members) = message.action { userIds.append(contentsOf: members) }
        }
        return entities(userIds: userIds, peers: messages.map(\.peer) + extraPeers, for: viewer)
    }
}
