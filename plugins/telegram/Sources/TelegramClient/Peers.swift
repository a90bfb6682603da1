import TelegramAPI

/// Bot-API-style marked chat ids: user "123", basic group "-123", channel or supergroup "-100123".
public enum ChatID {
    public enum Target: Equatable, Sendable {
        case user(Int64)
        case chat(Int64)
        case channel(Int64)
    }

    public static func user(_ id: Int64) -> String { String(id) }
    public static func group(_ id: Int64) -> String { "-\(id)" }
    public static func channel(_ id: Int64) -> String { "-100\(id)" }

    public static func of(_ peer: Api.Peer) -> String {
        switch peer {
        case .peerUser(let value): Self.user(value.userId)
        case .peerChat(let value): Self.group(value.chatId)
        case .peerChannel(let value): Self.channel(value.channelId)
        }
    }

    public static func target(of peer: Api.Peer) -> Target {
        switch peer {
        case .peerUser(let user): .user(user.userId)
        case .peerChat(let chat): .chat(chat.chatId)
        case .peerChannel(let channel): .channel(channel.channelId)
        }
    }

    /// Parses a marked id. "-100…" is ambiguous with a basic group whose id starts with 100; a known
    /// peer's kind decides (`known`), otherwise it is read as a channel.
    public static func parse(_ chatId: String, known: ChatKind? = nil) -> Target? {
        if chatId.hasPrefix("-") {
            let digits = chatId.dropFirst()
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let raw = Int64(digits), raw > 0 else { return nil }
            if known == .group { return .chat(raw) }
            if digits.hasPrefix("100"), digits.count > 3, let channel = Int64(digits.dropFirst(3)), channel > 0,
               known != .group {
                return .channel(channel)
            }
            return .chat(raw)
        }
        guard !chatId.isEmpty, chatId.allSatisfy({ $0.isASCII && $0.isNumber }), let id = Int64(chatId), id > 0 else { return nil }
        return .user(id)
    }
}

/// Learns peers from every users/chats vector into the session's `peers` (access hashes survive a
/// restart) and builds input peers from marked ids.
struct PeerDirectory {
    var peers: [String: PeerReference]

    /// Returns whether anything changed (the state needs persisting).
    @discardableResult
    mutating func learn(users: [Api.User], chats: [Api.Chat]) -> Bool {
        var changed = false
        for user in users {
            guard case .user(let user) = user else { continue }
            let key = ChatID.user(user.id)
            var reference = peers[key] ?? PeerReference(kind: .user, id: user.id)
            // A "min" constructor's access hash is not usable for input peers: keep the one we have.
            if !user.min, let hash = user.accessHash { reference.accessHash = hash }
            if !user.min || reference.title == nil {
                let name = TelegramUser(id: user.id, firstName: user.firstName, lastName: user.lastName,
                                        username: user.username, phone: user.phone).displayName
                if let name { reference.title = name }
                if let username = user.username { reference.username = username }
            }
            if peers[key] != reference {
                peers[key] = reference
                changed = true
            }
        }
        for chat in chats {
            let key: String
            var reference: PeerReference
            switch chat {
            case .chatEmpty:
                continue
            case .chat(let chat):
                key = ChatID.group(chat.id)
                reference = peers[key] ?? PeerReference(kind: .group, id: chat.id)
                reference.title = chat.title
            case .chatForbidden(let chat):
                key = ChatID.group(chat.id)
                reference = peers[key] ?? PeerReference(kind: .group, id: chat.id)
                reference.title = chat.title
            case .channel(let channel):
                key = ChatID.channel(channel.id)
                reference = peers[key] ?? PeerReference(kind: channel.megagroup ? .supergroup : .channel, id: channel.id)
                reference.kind = channel.megagroup ? .supergroup : .channel
                if !channel.min, let hash = channel.accessHash { reference.accessHash = hash }
                reference.title = channel.title
                if let username = channel.username { reference.username = username }
            case .channelForbidden(let channel):
                key = ChatID.channel(channel.id)
                reference = peers[key] ?? PeerReference(kind: channel.megagroup ? .supergroup : .channel, id: channel.id)
                reference.accessHash = channel.accessHash
                reference.title = channel.title
            }
            if peers[key] != reference {
                peers[key] = reference
                changed = true
            }
        }
        return changed
    }

    func reference(_ chatId: String) -> PeerReference? { peers[chatId] }

    /// Whether a short update names a user or chat we have never seen (no access hash, no name):
    /// then the difference is fetched for the entities rather than applying the update blind.
    func lacksEntities(for updates: Api.Updates) -> Bool {
        switch updates {
        case .updateShortMessage(let short):
            return peers[ChatID.user(short.userId)]?.accessHash == nil
        case .updateShortChatMessage(let short):
            return peers[ChatID.user(short.fromId)]?.accessHash == nil || peers[ChatID.group(short.chatId)] == nil
        default:
            return false
        }
    }

    func target(_ chatId: String) -> ChatID.Target? { ChatID.parse(chatId, known: peers[chatId]?.kind) }

    /// The input peer for a marked id; users and channels need a known access hash.
    func inputPeer(_ chatId: String) throws(TelegramClientError) -> Api.InputPeer {
        switch target(chatId) {
        case .user(let id):
            guard let hash = peers[chatId]?.accessHash else { throw .peerInvalid("unknown user \(chatId) (no access hash yet)") }
            return .inputPeerUser(.init(userId: id, accessHash: hash))
        case .chat(let id):
            return .inputPeerChat(.init(chatId: id))
        case .channel(let id):
            guard let hash = peers[chatId]?.accessHash else { throw .peerInvalid("unknown channel \(chatId) (no access hash yet)") }
            return .inputPeerChannel(.init(channelId: id, accessHash: hash))
        case nil:
            throw .peerInvalid("not a chat id: \(chatId)")
        }
    }

    func inputChannel(_ id: Int64) -> Api.InputChannel? {
        guard let hash = peers[ChatID.channel(id)]?.accessHash else { return nil }
        return .inputChannel(.init(channelId: id, accessHash: hash))
    }

    func kind(of peer: Api.Peer) -> ChatKind {
        switch peer {
        case .peerUser: .user
        case .peerChat: .group
        case .peerChannel: peers[ChatID.of(peer)]?.kind ?? .channel
        }
    }
}
