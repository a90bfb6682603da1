import Foundation

/// What the plugin persists between runs (encrypted by the host): the auth keys per data center,
/// who is logged in, the update sequence state and the peers' access hashes. Versioned: a state
/// of a newer version than this code knows is refused when decoding.
public struct TelegramSessionState: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    public var homeDataCenter: Int32
    public var dataCenters: [Int32: StoredAuthorization]
    public var userId: Int64?
    /// The logged-in user as of the login (so `user` is known after a restart without a request).
    public var user: TelegramUser?
    public var updateState: UpdateState?
    /// Peers by marked chat id ("123", "-123", "-100123"): access hashes and display names.
    public var peers: [String: PeerReference]

    public init(version: Int = TelegramSessionState.currentVersion, homeDataCenter: Int32,
                dataCenters: [Int32: StoredAuthorization] = [:], userId: Int64? = nil,
                user: TelegramUser? = nil, updateState: UpdateState? = nil, peers: [String: PeerReference] = [:]) {
        self.version = version
        self.homeDataCenter = homeDataCenter
        self.dataCenters = dataCenters
        self.userId = userId
        self.user = user
        self.updateState = updateState
        self.peers = peers
    }

    enum CodingKeys: String, CodingKey { case version, homeDataCenter, dataCenters, userId, user, updateState, peers }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        guard version <= Self.currentVersion else {
            throw DecodingError.dataCorruptedError(forKey: .version, in: container,
                                                   debugDescription: "session state version \(version) is newer than this client (\(Self.currentVersion))")
        }
        homeDataCenter = try container.decode(Int32.self, forKey: .homeDataCenter)
        dataCenters = try IntKeyed.decode(container.decodeIfPresent([String: StoredAuthorization].self, forKey: .dataCenters) ?? [:])
        userId = try container.decodeIfPresent(Int64.self, forKey: .userId)
        user = try container.decodeIfPresent(TelegramUser.self, forKey: .user)
        updateState = try container.decodeIfPresent(UpdateState.self, forKey: .updateState)
        peers = try container.decodeIfPresent([String: PeerReference].self, forKey: .peers) ?? [:]
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(homeDataCenter, forKey: .homeDataCenter)
        try container.encode(IntKeyed.encode(dataCenters), forKey: .dataCenters)
        try container.encodeIfPresent(userId, forKey: .userId)
        try container.encodeIfPresent(user, forKey: .user)
        try container.encodeIfPresent(updateState, forKey: .updateState)
        try container.encode(peers, forKey: .peers)
    }
}

/// An auth key with one data center: the key, the current server salt and our clock offset.
public struct StoredAuthorization: Codable, Sendable, Equatable {
    /// 256 bytes (base64 in JSON).
    public var authKey: Data
    public var salt: Int64
    public var timeOffset: Double

    public init(authKey: Data, salt: Int64, timeOffset: Double) {
        self.authKey = authKey
        self.salt = salt
        self.timeOffset = timeOffset
    }
}

/// The common update sequence (pts, qts, date, seq) and each channel's pts.
public struct UpdateState: Codable, Sendable, Equatable {
    public var pts: Int32
    public var qts: Int32
    public var date: Int32
    public var seq: Int32
    public var channelPts: [Int64: Int32]

    public init(pts: Int32, qts: Int32, date: Int32, seq: Int32, channelPts: [Int64: Int32] = [:]) {
        self.pts = pts
        self.qts = qts
        self.date = date
        self.seq = seq
        self.channelPts = channelPts
    }

    enum CodingKeys: String, CodingKey { case pts, qts, date, seq, channelPts }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pts = try container.decode(Int32.self, forKey: .pts)
        qts = try container.decode(Int32.self, forKey: .qts)
        date = try container.decode(Int32.self, forKey: .date)
        seq = try container.decode(Int32.self, forKey: .seq)
        channelPts = try IntKeyed.decode(container.decodeIfPresent([String: Int32].self, forKey: .channelPts) ?? [:])
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pts, forKey: .pts)
        try container.encode(qts, forKey: .qts)
        try container.encode(date, forKey: .date)
        try container.encode(seq, forKey: .seq)
        try container.encode(IntKeyed.encode(channelPts), forKey: .channelPts)
    }
}

/// A peer we may address later: its kind, raw id, access hash (users and channels) and names.
public struct PeerReference: Codable, Sendable, Equatable {
    public var kind: ChatKind
    /// The raw Telegram id (positive), not the marked chat id.
    public var id: Int64
    public var accessHash: Int64?
    /// Title of a group or channel, or a user's "first last".
    public var title: String?
    public var username: String?

    public init(kind: ChatKind, id: Int64, accessHash: Int64? = nil, title: String? = nil, username: String? = nil) {
        self.kind = kind
        self.id = id
        self.accessHash = accessHash
        self.title = title
        self.username = username
    }
}

/// Integer-keyed dictionaries as JSON objects with decimal string keys (JSONEncoder would write
/// `[Int32: X]` as a flat array of alternating keys and values).
enum IntKeyed {
    static func encode<Key: FixedWidthInteger, Value>(_ dictionary: [Key: Value]) -> [String: Value] {
        Dictionary(uniqueKeysWithValues: dictionary.map { (String($0.key), $0.value) })
    }

    static func decode<Key: FixedWidthInteger, Value>(_ dictionary: [String: Value]) throws -> [Key: Value] {
        var result: [Key: Value] = [:]
        for (text, value) in dictionary {
            guard let key = Key(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an integer key: \(text)"))
            }
            result[key] = value
        }
        return result
    }
}
