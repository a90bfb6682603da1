import MTProtoCrypto
import MTProtoTL
import TLRuntime

/// The data-center side of an encrypted session (used by the fake DC in tests): decrypts client
/// packets into their messages (containers and gzip opened) and packs server messages.
public final class ServerSession: @unchecked Sendable {
    public let authKey: AuthKey
    public var salt: Int64
    /// The session id of the latest packet (several clients may share one key, each with its own).
    public private(set) var clientSessionId: Int64?
    private var ids = MessageIdGenerator()
    /// Content-related messages sent per client session (seq_no is per session).
    private var contentMessagesSent: [Int64: Int32] = [:]
    private let now: @Sendable () -> Double
    private let random: @Sendable (Int) -> [UInt8]

    public struct Incoming: Sendable {
        /// The salt the client used (the server answers bad_server_salt when it is not `salt`).
        public var salt: Int64
        public var sessionId: Int64
        /// True for the first packet of a session id this server had not seen.
        public var isNewSession: Bool
        /// The id of the packet's top-level message (for bad_msg_notification on a container).
        public var outerMessageId: Int64
        public var outerSeqNo: Int32
        public var messages: [InnerMessage]
    }

    public init(authKey: AuthKey, salt: Int64, now: @escaping @Sendable () -> Double,
                random: @escaping @Sendable (Int) -> [UInt8] = SecureRandom.bytes) {
        self.authKey = authKey
        self.salt = salt
        self.now = now
        self.random = random
    }

    public func receive(_ packet: [UInt8]) throws -> Incoming {
        let message = try EncryptedMessage.decrypt(packet, authKey: authKey, sender: .client)
        guard message.messageId & 3 == 0 else { throw SessionError.messageIdWrongParity(message.messageId) }
        let isNew = contentMessagesSent[message.sessionId] == nil
        if isNew { contentMessagesSent[message.sessionId] = 0 }
        clientSessionId = message.sessionId
        let body = try ServiceMessages.unpacked(message.body)
        var messages: [InnerMessage]
        if ServiceMessages.constructorId(of: body) == ServiceConstructor.messageContainer {
            messages = try ServiceMessages.parseContainer(body)
        } else {
            messages = [InnerMessage(messageId: message.messageId, seqNo: message.seqNo, body: body)]
        }
        for index in messages.indices { messages[index].body = try ServiceMessages.unpacked(messages[index].body) }
        return Incoming(salt: message.salt, sessionId: message.sessionId, isNewSession: isNew,
                        outerMessageId: message.messageId, outerSeqNo: message.seqNo, messages: messages)
    }

    /// One outgoing server message: content-related (needs an ack: results, updates) or not.
    public struct Outgoing: Sendable {
        public var body: [UInt8]
        public var contentRelated: Bool
        public init(_ body: [UInt8], contentRelated: Bool = true) {
            self.body = body
            self.contentRelated = contentRelated
        }
    }

    /// Packs messages into one encrypted packet (a container when there are several) for the
    /// client session `sessionId` (default: the latest one seen).
    /// `messageIdOffset` skews the ids' clock (tests of the client's time window and resync).
    public func packet(_ messages: [Outgoing], sessionId: Int64? = nil, messageIdOffset: Double = 0) -> [UInt8] {
        let sessionId = sessionId ?? clientSessionId ?? 0
        let time = now() + messageIdOffset
        let inner = messages.map {
            InnerMessage(messageId: ids.next($0.contentRelated ? .serverResponse : .serverNotification, now: time),
                         seqNo: nextSeqNo(contentRelated: $0.contentRelated, sessionId: sessionId), body: $0.body)
        }
        let top = inner.count == 1 ? inner[0]
            : InnerMessage(messageId: ids.next(.serverNotification, now: time), seqNo: nextSeqNo(contentRelated: false, sessionId: sessionId),
                           body: ServiceMessages.container(inner))
        return EncryptedMessage.encrypt(DecryptedMessage(salt: salt, sessionId: sessionId, messageId: top.messageId,
                                                         seqNo: top.seqNo, body: top.body),
                                        authKey: authKey, sender: .server, random: random)
    }

    public func newSessionCreated(firstMessageId: Int64) -> Outgoing {
        Outgoing(MT.Types.NewSessionCreated(firstMsgId: firstMessageId, uniqueId: ClientSession.randomInt64(random),
                                            serverSalt: salt).serialized(), contentRelated: false)
    }

    private func nextSeqNo(contentRelated: Bool, sessionId: Int64) -> Int32 {
        let sent = contentMessagesSent[sessionId, default: 0]
        guard contentRelated else { return sent * 2 }
        contentMessagesSent[sessionId] = sent + 1
        return sent * 2 + 1
    }
}
