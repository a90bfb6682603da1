import MTProtoCrypto
import MTProtoTL
import TLRuntime

/// The client side of an MTProto 2.0 encrypted session, as a state machine without I/O:
/// `send` queues requests, `pack` produces the next packet to write, `receive` consumes a packet
/// from the server and says what it meant. It handles msg_id/seq_no, containers, gzip, acks,
/// salts (bad_server_salt), clock resync (bad_msg_notification 16/17), new_session_created,
/// rpc_result/rpc_error, pong and future_salts, and re-sends unanswered requests after a reconnect.
public final class ClientSession: @unchecked Sendable {
    public let authKey: AuthKey
    public private(set) var salt: Int64
    public private(set) var sessionId: Int64
    public var timeOffset: Double { ids.timeOffset }

    /// Messages from the server older than this or further ahead are rejected (replay protection).
    public static let acceptedPast: Double = 300
    public static let acceptedFuture: Double = 30
    public static let maximumMessagesPerPacket = 64
    public static let maximumPacketBody = 512 * 1024
    /// Acks are sent with the next request, or alone once this many are waiting.
    public static let acknowledgementBatch = 16

    private struct Request {
        let token: RequestToken
        let body: [UInt8]
    }

    private var ids: MessageIdGenerator
    private var contentMessagesSent: Int32 = 0
    private var nextToken: UInt64 = 1
    private var queue: [Request] = []
    private var inFlight: [Int64: Request] = [:]
    private var containers: [Int64: [Int64]] = [:]
    private var pendingAcks: [Int64] = []
    private var recentServerIds = RecentIds(capacity: 2048)
    private let now: @Sendable () -> Double
    private let random: @Sendable (Int) -> [UInt8]

    public init(authKey: AuthKey, salt: Int64, timeOffset: Double, now: @escaping @Sendable () -> Double,
                random: @escaping @Sendable (Int) -> [UInt8] = SecureRandom.bytes) {
        self.authKey = authKey
        self.salt = salt
        self.now = now
        self.random = random
        ids = MessageIdGenerator(timeOffset: timeOffset)
        sessionId = Self.randomInt64(random)
    }

    // MARK: Sending

    /// Queues a serialized function call; its answer comes back as `.result(token, …)`.
    @discardableResult
    public func send(_ body: [UInt8]) -> RequestToken {
        let token = RequestToken(value: nextToken)
        nextToken += 1
        queue.append(Request(token: token, body: body))
        return token
    }

    @discardableResult
    public func send<F: TLFunction>(_ function: F) -> RequestToken { send(function.serialized()) }

    /// Whether `pack()` has something worth a packet now (requests, or a full batch of acks).
    public var hasOutgoing: Bool { !queue.isEmpty || pendingAcks.count >= Self.acknowledgementBatch }
    public var hasPendingAcknowledgements: Bool { !pendingAcks.isEmpty }
    public var unansweredCount: Int { inFlight.count + queue.count }

    /// The next encrypted packet: queued requests and pending acks, in a container when more than one.
    public func pack() -> [UInt8]? {
        var messages: [InnerMessage] = []
        var size = 0
        if !pendingAcks.isEmpty {
            let ack = MT.Types.MsgsAck(msgIds: pendingAcks).serialized()
            pendingAcks.removeAll()
            messages.append(InnerMessage(messageId: ids.next(now: now()), seqNo: nextSeqNo(contentRelated: false), body: ack))
            size += ack.count
        }
        var taken = 0
        defer { queue.removeFirst(taken) }
        while taken < queue.count, messages.count < Self.maximumMessagesPerPacket,
              messages.isEmpty || size + queue[taken].body.count <= Self.maximumPacketBody {
            let request = queue[taken]
            taken += 1
            let body = request.body.count > 1024 ? compressedIfSmaller(request.body) : request.body
            let message = InnerMessage(messageId: ids.next(now: now()), seqNo: nextSeqNo(contentRelated: true), body: body)
            inFlight[message.messageId] = request
            messages.append(message)
            size += body.count
        }
        guard !messages.isEmpty else { return nil }
        if messages.count == 1 { return encrypt(messages[0]) }
        let container = InnerMessage(messageId: ids.next(now: now()), seqNo: nextSeqNo(contentRelated: false),
                                     body: ServiceMessages.container(messages))
        containers[container.messageId] = messages.map(\.messageId)
        if containers.count > 1024, let oldest = containers.keys.min() { containers[oldest] = nil }
        return encrypt(container)
    }

    /// After the connection dropped: every unanswered request goes out again (with new ids) on the
    /// next connection, in the order it was first sent.
    public func connectionLost() {
        let unanswered = inFlight.sorted { $0.key < $1.key }.map(\.value)
        inFlight.removeAll()
        containers.removeAll()
        queue.insert(contentsOf: unanswered, at: 0)
    }

    /// Forgets a request (its caller gave up); a late answer is ignored.
    public func cancel(_ token: RequestToken) {
        queue.removeAll { $0.token == token }
        if let id = inFlight.first(where: { $0.value.token == token })?.key { inFlight[id] = nil }
    }

    private func encrypt(_ message: InnerMessage) -> [UInt8] {
        EncryptedMessage.encrypt(DecryptedMessage(salt: salt, sessionId: sessionId, messageId: message.messageId,
                                                  seqNo: message.seqNo, body: message.body),
                                 authKey: authKey, sender: .client, random: random)
    }

    private func nextSeqNo(contentRelated: Bool) -> Int32 {
        guard contentRelated else { return contentMessagesSent * 2 }
        defer { contentMessagesSent += 1 }
        return contentMessagesSent * 2 + 1
    }

    private func compressedIfSmaller(_ body: [UInt8]) -> [UInt8] {
        let packed = ServiceMessages.gzipPacked(body)
        return packed.count < body.count ? packed : body
    }

    // MARK: Receiving

    /// Decrypts and handles one packet from the server. Throws `SessionError` for a packet that must
    /// be dropped (wrong key, tampered, replayed, out of the time window); the session stays usable.
    public func receive(_ packet: [UInt8]) throws -> [SessionEvent] {
        let message = try EncryptedMessage.decrypt(packet, authKey: authKey, sender: .server)
        guard message.sessionId == sessionId else { throw SessionError.wrongSessionId(expected: sessionId, actual: message.sessionId) }
        let body = try ServiceMessages.unpacked(message.body)
        if !isClockResync(body) { try checkIncomingId(message.messageId) }
        guard recentServerIds.insert(message.messageId) else { throw SessionError.duplicateMessageId(message.messageId) }
        var events: [SessionEvent] = []
        try handle(InnerMessage(messageId: message.messageId, seqNo: message.seqNo, body: body), events: &events, inContainer: false)
        return events
    }

    private func checkIncomingId(_ messageId: Int64) throws {
        guard messageId & 1 == 1 else { throw SessionError.messageIdWrongParity(messageId) }
        let serverNow = now() + ids.timeOffset
        let time = MessageIdGenerator.time(of: messageId)
        guard time > serverNow - Self.acceptedPast, time < serverNow + Self.acceptedFuture else {
            throw SessionError.messageIdOutOfWindow(messageId: messageId, serverTime: serverNow)
        }
    }

    /// A bad_msg_notification 16/17 (alone or in a container) is exempt from the time window: it is
    /// how the server tells a client with a wrong clock the right time.
    private func isClockResync(_ body: [UInt8]) -> Bool {
        if ServiceMessages.constructorId(of: body) == ServiceConstructor.messageContainer {
            return (try? ServiceMessages.parseContainer(body))?.contains { isClockResync($0.body) } ?? false
        }
        guard ServiceMessages.constructorId(of: body) == MT.Types.BadMsgNotification.constructorId,
              case .badMsgNotification(let notification)? = try? MT.BadMsgNotification(tlBytes: body) else { return false }
        return notification.errorCode == 16 || notification.errorCode == 17
    }

    private func handle(_ message: InnerMessage, events: inout [SessionEvent], inContainer: Bool) throws {
        if message.isContentRelated { pendingAcks.append(message.messageId) }
        let body = try ServiceMessages.unpacked(message.body)
        switch ServiceMessages.constructorId(of: body) {
        case ServiceConstructor.messageContainer:
            guard !inContainer else { throw SessionError.malformedContainer("nested container") }
            for inner in try ServiceMessages.parseContainer(body) {
                guard recentServerIds.insert(inner.messageId) else { continue }
                try handle(inner, events: &events, inContainer: true)
            }
        case ServiceConstructor.rpcResult:
            let (requestId, result) = try ServiceMessages.parseRPCResult(body)
            if let request = inFlight.removeValue(forKey: requestId) { events.append(.result(request.token, result)) }
        case MT.Types.Pong.constructorId:
            let pong = try MT.Types.Pong(tlBytes: body)
            if let request = inFlight.removeValue(forKey: pong.msgId) { events.append(.result(request.token, .success(body))) }
        case MT.Types.FutureSalts.constructorId:
            let salts = try MT.Types.FutureSalts(tlBytes: body)
            if let request = inFlight.removeValue(forKey: salts.reqMsgId) { events.append(.result(request.token, .success(body))) }
        case MT.Types.BadServerSalt.constructorId:
            guard case .badServerSalt(let notice) = try MT.BadMsgNotification(tlBytes: body) else { return }
            salt = notice.newServerSalt
            resend(notice.badMsgId)
            events.append(.stateChanged)
        case MT.Types.BadMsgNotification.constructorId:
            guard case .badMsgNotification(let notice) = try MT.BadMsgNotification(tlBytes: body) else { return }
            handleBadMessage(notice, serverMessageId: message.messageId, events: &events)
        case MT.Types.NewSessionCreated.constructorId:
            let created = try MT.Types.NewSessionCreated(tlBytes: body)
            salt = created.serverSalt
            events.append(.newSessionCreated)
            events.append(.stateChanged)
        case MT.Types.MsgsAck.constructorId, MT.Types.MsgDetailedInfo.constructorId, MT.Types.MsgNewDetailedInfo.constructorId,
             MT.Types.MsgsStateReq.constructorId, MT.Types.MsgResendReq.constructorId, MT.Types.MsgsAllInfo.constructorId,
             MT.Types.DestroySessionOk.constructorId, MT.Types.DestroySessionNone.constructorId:
            break  // Informational: nothing to do beyond the ack above.
        case nil:
            throw SessionError.malformedContainer("empty message")
        default:
            events.append(.update(body))
        }
    }

    private func handleBadMessage(_ notice: MT.Types.BadMsgNotification, serverMessageId: Int64, events: inout [SessionEvent]) {
        switch notice.errorCode {
        case 16, 17:
            // Our clock is off: the notification's own id carries the server's time.
            ids.timeOffset = MessageIdGenerator.time(of: serverMessageId) - now()
            events.append(.stateChanged)
            resend(notice.badMsgId)
        case 32:
            contentMessagesSent += 64
            resend(notice.badMsgId)
        case 33:
            contentMessagesSent = max(0, contentMessagesSent - 16)
            resend(notice.badMsgId)
        default:
            for id in containers.removeValue(forKey: notice.badMsgId) ?? [notice.badMsgId] {
                if let request = inFlight.removeValue(forKey: id) { events.append(.failed(request.token, code: notice.errorCode)) }
            }
        }
    }

    /// Puts a refused message (or every message of a refused container) back at the queue's front.
    private func resend(_ messageId: Int64) {
        let ids = containers.removeValue(forKey: messageId) ?? [messageId]
        let requests = ids.compactMap { inFlight.removeValue(forKey: $0) }
        queue.insert(contentsOf: requests, at: 0)
    }

    static func randomInt64(_ random: (Int) -> [UInt8]) -> Int64 {
        random(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
}

/// A bounded set of recently seen message ids (duplicate and replay detection).
struct RecentIds {
    private var set = Set<Int64>()
    private var order: [Int64] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// False if the id was already seen.
    mutating func insert(_ id: Int64) -> Bool {
        guard set.insert(id).inserted else { return false }
        if order.count < capacity {
            order.append(id)
        } else {
            set.remove(order[head])
            order[head] = id
            head = (head + 1) % capacity
        }
        return true
    }
}
