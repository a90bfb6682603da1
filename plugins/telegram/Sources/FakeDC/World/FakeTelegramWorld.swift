import Foundation
import MTProto
import MTProtoCrypto
import TelegramAPI

/// A small Telegram for tests, shared by the fake data centers of one process: users with a home
/// DC (login with a code, by QR code, and 2FA, PHONE_MIGRATE/USER_MIGRATE across DCs), private chats, basic
/// groups and channels, dialogs, sending, read receipts, and the update sequences (pts, seq,
/// per-channel pts) with pushes, getDifference and getChannelDifference — answering with the
/// constructors and errors Telegram uses.
///
///     let world = FakeTelegramWorld()
///     await world.attach(to: dataCenter)           // registers the world's handlers on that DC
///     let alice = try await world.addUser(phone: "+999 66 2 1234", firstName: "Alice")
///     await world.deliverMessage(from: bob, to: alice, text: "hi")
///
/// Tests script it (`addUser`, `deliverMessage`, `createGroup`, `withholdUpdates`, …) and read it
/// back (`codeFor(phone:)`, `messages(of:)`, `updateState(of:)`).
public actor FakeTelegramWorld {
    public struct Configuration: Sendable {
        public enum UnknownPhone: Sendable {
            /// auth.sendCode answers 400 PHONE_NUMBER_INVALID.
            case invalid
            /// The code is sent and auth.signIn answers auth.authorizationSignUpRequired.
            case signUpRequired
        }

        /// The login code of every auth.sendCode; nil: 5 random digits each time (read them with `codeFor`).
        public var fixedLoginCode: String?
        /// Seconds a phone_code_hash stays valid.
        public var codeLifetime: Double = 300
        /// Seconds a QR login token (auth.exportLoginToken) stays valid.
        public var loginTokenLifetime: Double = 30
        public var unknownPhone: UnknownPhone = .invalid
        /// Events per updates.differenceSlice (also bounded by the call's pts_limit).
        public var differenceSliceSize = 50
        /// A client further behind than this many pts gets updates.differenceTooLong.
        public var differenceTooLongAfter: Int32 = 1000
        /// The world's clock (Unix seconds).
        public var now: @Sendable () -> Double = { Date().timeIntervalSince1970 }

        public init() {}
    }

    public let configuration: Configuration

    // Users, chats, channels.
    var users: [Int64: UserState] = [:]
    var usersByPhone: [String: Int64] = [:]
    var chats: [Int64: BasicChatState] = [:]
    var channels: [Int64: ChannelState] = [:]
    private var nextUserId: Int64 = 1_000_001
    private var nextChatId: Int64 = 4_000_001
    private var nextChannelId: Int64 = 1_700_000_001
    private var nextSerial: Int64 = 1

    // Authorization.
    var dataCenters: [Int32: FakeDataCenter] = [:]
    var authorizations: [KeyRef: Int64] = [:]
    var revokedKeys: Set<KeyRef> = []
    var awaitingPassword: [KeyRef: Int64] = [:]
    var pendingCodes: [String: PendingCode] = [:]
    var lastCodes: [String: String] = [:]
    var exportedTokens: [ExportedToken] = []
    var loginTokens: [LoginTokenState] = []
    var loginImports: [LoginImportToken] = []

    /// Pushes leave in order through one task (a world method never waits for a DC).
    enum Outbound: Sendable {
        case push(FakeDataCenter, Int64, [UInt8])
        case barrier(CheckedContinuation<Void, Never>)
    }

    nonisolated let outbox: AsyncStream<Outbound>.Continuation

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let (stream, continuation) = AsyncStream<Outbound>.makeStream()
        outbox = continuation
        Task {
            for await item in stream {
                switch item {
                case .push(let dataCenter, let keyId, let bytes): await dataCenter.push(bytes, to: keyId)
                case .barrier(let done): done.resume()
                }
            }
        }
    }

    deinit { outbox.finish() }

    var now: Int32 { Int32(configuration.now()) }

    func serial() -> Int64 {
        defer { nextSerial += 1 }
        return nextSerial
    }

    // MARK: Scripting: users

    /// Adds a user whose home is DC `homeDc`; with `password`, login needs 2FA (SRP). Returns the user id.
    @discardableResult
    public func addUser(phone: String, firstName: String, lastName: String? = nil, username: String? = nil,
                        password: String? = nil, passwordHint: String? = nil, homeDc: Int32 = 2) throws -> Int64 {
        guard let digits = Self.normalize(phone: phone) else { throw RPCError.badRequest("PHONE_NUMBER_INVALID") }
        guard usersByPhone[digits] == nil else { throw RPCError.badRequest("PHONE_NUMBER_OCCUPIED") }
        if let username, users.values.contains(where: { $0.username?.lowercased() == username.lowercased() }) {
            throw RPCError.badRequest("USERNAME_OCCUPIED")
        }
        let id = nextUserId
        nextUserId += 1
        var passwordState: PasswordState?
        if let password {
            let salt1 = SecureRandom.bytes(40)
            let salt2 = SecureRandom.bytes(16)
            let verifier = try SRP.verifier(password: password, salt1: salt1, salt2: salt2, g: 3, p: DiffieHellman.telegramPrime)
            passwordState = PasswordState(salt1: salt1, salt2: salt2, verifier: verifier, hint: passwordHint)
        }
        users[id] = UserState(id: id, accessHash: Int64.random(in: 1 ... .max), phone: digits, firstName: firstName,
                              lastName: lastName, username: username, homeDc: homeDc, password: passwordState)
        usersByPhone[digits] = id
        return id
    }

    public func user(_ id: Int64) -> WorldUser? { users[id]?.info }

    /// The code of the last auth.sendCode for `phone` (what the user would read in the app).
    public func codeFor(phone: String) -> String? {
        Self.normalize(phone: phone).flatMap { lastCodes[$0] }
    }

    /// The user an auth key is logged in as on DC `dcId`.
    public func authorizedUser(dcId: Int32, authKeyId: Int64) -> Int64? {
        authorizations[KeyRef(dc: dcId, key: authKeyId)]
    }

    /// Terminates every session of the user (Settings → Devices → Terminate all): their keys
    /// now get 401 SESSION_REVOKED.
    public func revokeSessions(userId: Int64) {
        for (ref, owner) in authorizations where owner == userId {
            authorizations[ref] = nil
            revokedKeys.insert(ref)
        }
        for (ref, owner) in awaitingPassword where owner == userId { awaitingPassword[ref] = nil }
    }

    /// While true, nothing is pushed to the user's sessions; their pts/seq still advance, so the
    /// client must notice the gap and call updates.getDifference.
    public func withholdUpdates(_ userId: Int64, _ withheld: Bool) {
        users[userId]?.withheld = withheld
    }

    // MARK: Scripting: chats and messages

    /// A message from `from` to `to` in their private chat, as if sent from another app: both
    /// boxes get it, the recipient's update is pushed (updateShortMessage, or `updates` with the
    /// sender's user the first time), the sender's sessions get the outgoing copy. Returns the id
    /// in the recipient's box.
    @discardableResult
    public func deliverMessage(from: Int64, to: Int64, text: String) -> Int32 {
        guard users[from] != nil, users[to] != nil else { return 0 }
        let sent = sendPrivate(from: from, to: to, text: text, replyToSerial: nil, senderKey: nil)
        return sent.recipientMessage?.id ?? sent.senderMessage.id
    }

    /// A basic group; the first member is the creator. Every member gets the "group created"
    /// service message. Returns the chat id.
    @discardableResult
    public func createGroup(title: String, members: [Int64]) -> Int64 {
        let members = members.filter { users[$0] != nil }
        let id = nextChatId
        nextChatId += 1
        let creator = members.first ?? 0
        chats[id] = BasicChatState(id: id, title: title, creator: creator, members: members, date: now)
        postToChat(from: creator, chatId: id, text: "", action: .chatCreate(title: title, users: members), replyToSerial: nil,
                   randomId: nil, senderKey: nil)
        return id
    }

    /// A channel (`megagroup`: a supergroup where every member writes; otherwise a broadcast
    /// channel where only the creator posts). The first member is the creator. Returns its id.
    @discardableResult
    public func createChannel(title: String, megagroup: Bool, members: [Int64]) -> Int64 {
        let members = members.filter { users[$0] != nil }
        let id = nextChannelId
        nextChannelId += 1
        let creator = members.first ?? 0
        channels[id] = ChannelState(id: id, accessHash: Int64.random(in: 1 ... .max), title: title, megagroup: megagroup,
                                    creator: creator, admins: [creator], members: members, date: now)
        postToChannel(from: creator, channelId: id, text: "", action: .channelCreate(title: title), replyTo: nil,
                      randomId: nil, senderKey: nil)
        return id
    }

    /// A message from `from` in a basic group or channel (`group` is either id), pushed to every
    /// member. Returns the message id (the sender's box id in a basic group).
    @discardableResult
    public func deliverGroupMessage(from: Int64, to group: Int64, text: String) -> Int32 {
        if chats[group] != nil {
            return postToChat(from: from, chatId: group, text: text, action: nil, replyToSerial: nil, randomId: nil,
                              senderKey: nil).senderMessage?.id ?? 0
        }
        if channels[group] != nil {
            return postToChannel(from: from, channelId: group, text: text, action: nil, replyTo: nil, randomId: nil,
                                 senderKey: nil).message.id
        }
        return 0
    }

    /// The user's box (private chats and basic groups), ascending ids.
    public func messages(of userId: Int64) -> [WorldMessage] { users[userId]?.box ?? [] }

    /// A channel's messages, ascending ids.
    public func channelMessages(_ channelId: Int64) -> [WorldMessage] { channels[channelId]?.messages ?? [] }

    public func updateState(of userId: Int64) -> WorldUpdateState? {
        users[userId].map { WorldUpdateState(pts: $0.pts, seq: $0.seq) }
    }

    public func channelPts(_ channelId: Int64) -> Int32? { channels[channelId]?.pts }

    /// The InputPeer a client would use for `peer` (with the access hash).
    public func inputPeer(_ peer: WorldPeer) -> Api.InputPeer {
        switch peer {
        case .user(let id): .inputPeerUser(Api.Types.InputPeerUser(userId: id, accessHash: users[id]?.accessHash ?? 0))
        case .chat(let id): .inputPeerChat(Api.Types.InputPeerChat(chatId: id))
        case .channel(let id): .inputPeerChannel(Api.Types.InputPeerChannel(channelId: id, accessHash: channels[id]?.accessHash ?? 0))
        }
    }

    /// Returns once every push queued so far has been handed to its data center.
    public func settle() async {
        await withCheckedContinuation { outbox.yield(.barrier($0)) }
    }

    // MARK: Helpers

    /// Digits only (a leading +, spaces, dashes and parentheses dropped); nil unless 5–15 digits.
    static func normalize(phone: String) -> String? {
        let kept = phone.filter { !" +-()".contains($0) }
        guard (5...15).contains(kept.count), kept.allSatisfy(\.isASCII), kept.allSatisfy(\.isNumber) else { return nil }
        return kept
    }

    /// The logged-in user of a call; 401 when the key is not logged in (or was revoked), and
    /// 303 USER_MIGRATE_X when `homeOnly` and the call reached another DC than the user's.
    func authorized(_ caller: Caller, homeOnly: Bool = true) throws -> Int64 {
        if revokedKeys.contains(caller.ref) { throw RPCError.unauthorized("SESSION_REVOKED") }
        guard let userId = authorizations[caller.ref], let user = users[userId] else {
            throw RPCError.unauthorized("AUTH_KEY_UNREGISTERED")
        }
        if homeOnly, user.homeDc != caller.dc { throw RPCError.seeOther("USER_MIGRATE_\(user.homeDc)") }
        return userId
    }
}
