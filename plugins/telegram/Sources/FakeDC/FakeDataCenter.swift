import Foundation
import MTProto
import MTProtoCrypto
import MTProtoNetwork
import MTProtoTL
import TLRuntime
import TelegramAPI

/// A data center for tests: the server side of the handshake and of encrypted sessions over every
/// transport, with scripted RPC handlers and faults on demand (dropped connections, delays,
/// bad_server_salt, gzip, containers, rpc errors such as FLOOD_WAIT and *_MIGRATE).
public actor FakeDataCenter {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 0
        public var dcId: Int32 = 2
        public var privateKey: RSAPrivateKey
        /// Layers accepted in invokeWithLayer (Telethon 1.39 speaks 199, we speak 201).
        public var layers: ClosedRange<Int32> = 100...201
        /// Shifts this DC's clock (tests of the client's time resync).
        public var clockOffset: Double = 0

        public init(privateKey: RSAPrivateKey) { self.privateKey = privateKey }
    }

    public typealias Handler = @Sendable (IncomingCall) async -> CallReply

    /// Faults applied to the next calls, consumed as they fire.
    public struct Faults: Sendable {
        /// Answer the next N calls with bad_server_salt (and a new salt) instead of a result.
        public var badServerSalt = 0
        /// Close the connection on the next N calls instead of answering.
        public var dropConnection = 0
        /// Wait this long before answering each call.
        public var delay: Duration = .zero
        /// Pack every result in gzip_packed.
        public var gzipResults = false
        /// Answer the next N calls with this error.
        public var error: RPCError?
        public var errorCount = 0
        /// Send the results of all calls of a packet in one container.
        public var containers = true
    }

    public let configuration: Configuration
    public var faults = Faults()
    public private(set) var port = 0
    /// Every call received, for assertions (constructor id, layer).
    public private(set) var calls: [IncomingCall] = []
    public private(set) var handshakes = 0

    private var listener: TransportListener?
    private var keys: [Int64: AuthKey] = [:]
    private var sessions: [Int64: ServerSession] = [:]
    /// The latest connection of each auth key, with the client session id it speaks.
    private var connections: [Int64: (connection: TransportConnection, sessionId: Int64)] = [:]
    private var handlers: [UInt32: Handler] = [:]

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func start() async throws -> Int {
        try await listen(on: configuration.port)
        // Defaults (help.getConfig lists this DC at its real port); tests' handlers take precedence.
        var defaults: [UInt32: Handler] = [:]
        Self.installDefaultHandlers(on: &defaults, dcId: configuration.dcId, host: configuration.host, port: port)
        handlers.merge(defaults) { installed, _ in installed }
        return port
    }

    private func listen(on requestedPort: Int) async throws {
        let listener = try await TransportListener.bind(host: configuration.host, port: requestedPort) { connection in
            Task { await self.serve(connection) }
        }
        self.listener = listener
        port = listener.port
    }

    /// A network outage: every connection is cut and new ones are refused for `duration`, then the
    /// DC listens again on the same port (tests of reconnect, backoff and catch-up).
    public func beginOutage(for duration: Duration) async {
        await listener?.close()
        listener = nil
        dropAllConnections()
        let port = self.port
        Task {
            try? await Task.sleep(for: duration)
            try? await self.listen(on: port)
        }
    }

    public func stop() async {
        await listener?.close()
        for client in connections.values { client.connection.close() }
        connections.removeAll()
    }

    public func setFaults(_ faults: Faults) { self.faults = faults }
    public func updateFaults(_ change: @Sendable (inout Faults) -> Void) { change(&faults) }

    /// Answers calls of `F` with `handler` (replacing any default).
    public func on<F: TLFunction & TLDeserializable>(_ type: F.Type, _ handler: @escaping @Sendable (F, IncomingCall) async throws -> F.Result)
    where F.Result: TLSerializable {
        handlers[F.constructorId] = { call in
            do {
                return .result(try await handler(try call.decode(F.self), call).serialized())
            } catch let error as RPCError {
                return .error(error)
            } catch {
                return .error(RPCError(code: 500, message: "INTERNAL_FAKE_DC_ERROR"))
            }
        }
    }

    public func onRaw(_ constructorId: UInt32, _ handler: @escaping Handler) { handlers[constructorId] = handler }

    /// Sends a server message (e.g. Updates) to the client connected with `authKeyId` (or every client).
    public func push(_ body: [UInt8], to authKeyId: Int64? = nil) {
        for (keyId, client) in connections where authKeyId == nil || keyId == authKeyId {
            guard let session = sessions[keyId] else { continue }
            client.connection.send(session.packet([ServerSession.Outgoing(body)], sessionId: client.sessionId))
        }
    }

    /// Forgets every auth key (the next encrypted packet gets transport error -404).
    public func forgetKeys() {
        keys.removeAll()
        sessions.removeAll()
    }

    /// Closes every client connection (a cut link).
    public func dropAllConnections() {
        for client in connections.values { client.connection.close() }
        connections.removeAll()
    }

    public var connectedClients: Int { connections.count }

    // MARK: Serving

    private var now: Double { Date().timeIntervalSince1970 + configuration.clockOffset }

    private func serve(_ connection: TransportConnection) async {
        var handshake: ServerHandshake?
        var connectionKeyId: Int64?
        do {
            for try await packet in connection.packets {
                let keyId = packet.count >= 8 ? packet.prefix(8).reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) } : 0
                if keyId == 0 {
                    let offset = configuration.clockOffset
                    let server = handshake ?? ServerHandshake(privateKeys: [configuration.privateKey],
                                                              now: { Date().timeIntervalSince1970 + offset })
                    handshake = server
                    switch try server.receive(packet) {
                    case .send(let reply):
                        connection.send(reply)
                    case .done(let authKey, let salt, let reply):
                        keys[authKey.id] = authKey
                        let offset = configuration.clockOffset
                        sessions[authKey.id] = ServerSession(authKey: authKey, salt: salt, now: { Date().timeIntervalSince1970 + offset })
                        handshakes += 1
                        handshake = nil
                        connection.send(reply)
                    }
                    continue
                }
                guard let session = sessions[keyId] else {
                    connection.sendTransportError(-404)
                    continue
                }
                guard let incoming = try? session.receive(packet) else { continue }
                connectionKeyId = keyId
                connections[keyId] = (connection, incoming.sessionId)
                if try await !answer(incoming, session: session, authKeyId: keyId, connection: connection) {
                    connection.close()
                    break
                }
            }
        } catch {
            connection.close()
        }
        if let connectionKeyId, connections[connectionKeyId]?.connection === connection { connections[connectionKeyId] = nil }
    }

    /// Handles one client packet; false when a fault says to drop the connection.
    private func answer(_ incoming: ServerSession.Incoming, session: ServerSession, authKeyId: Int64,
                        connection: TransportConnection) async throws -> Bool {
        var replies: [ServerSession.Outgoing] = []
        if incoming.isNewSession, let first = incoming.messages.first {
            replies.append(session.newSessionCreated(firstMessageId: first.messageId))
        }
        if incoming.salt != session.salt || faults.badServerSalt > 0 {
            if faults.badServerSalt > 0 {
                faults.badServerSalt -= 1
                session.salt = Int64.random(in: .min ... .max)
            }
            let notice = MT.Types.BadServerSalt(badMsgId: incoming.outerMessageId, badMsgSeqno: incoming.outerSeqNo,
                                                errorCode: 48, newServerSalt: session.salt)
            replies.append(.init(notice.serialized(), contentRelated: false))
            connection.send(session.packet(replies, sessionId: incoming.sessionId))
            return true
        }
        var acknowledged: [Int64] = []
        for message in incoming.messages {
            if message.isContentRelated { acknowledged.append(message.messageId) }
            if let notice = clockProblem(message) {
                replies.append(.init(notice.serialized(), contentRelated: false))
                continue
            }
            switch try await reply(to: message, authKeyId: authKeyId) {
            case .some(.dropConnection):
                return false
            case .some(let outgoing):
                if case .message(let body) = outgoing { replies.append(.init(body)) }
            case nil:
                break
            }
        }
        if !acknowledged.isEmpty { replies.insert(.init(MT.Types.MsgsAck(msgIds: acknowledged).serialized(), contentRelated: false), at: 0) }
        guard !replies.isEmpty else { return true }
        if faults.containers || replies.count == 1 {
            connection.send(session.packet(replies, sessionId: incoming.sessionId))
        } else {
            for reply in replies { connection.send(session.packet([reply], sessionId: incoming.sessionId)) }
        }
        return true
    }

    /// bad_msg_notification 16/17 for a client whose clock is off by more than the protocol allows.
    private func clockProblem(_ message: InnerMessage) -> MT.Types.BadMsgNotification? {
        let time = MessageIdGenerator.time(of: message.messageId)
        if time < now - 300 { return MT.Types.BadMsgNotification(badMsgId: message.messageId, badMsgSeqno: message.seqNo, errorCode: 16) }
        if time > now + 30 { return MT.Types.BadMsgNotification(badMsgId: message.messageId, badMsgSeqno: message.seqNo, errorCode: 17) }
        return nil
    }

    private enum Outgoing { case message([UInt8]), dropConnection }

    private func reply(to message: InnerMessage, authKeyId: Int64) async throws -> Outgoing? {
        if ServiceMessages.constructorId(of: message.body) == MT.Types.MsgsAck.constructorId { return nil }
        let (body, layer, apiId) = try CallWrappers.peel(message.body)
        if let answer = try serviceAnswer(body, messageId: message.messageId) { return .message(answer) }
        let call = IncomingCall(body: body, constructorId: ServiceMessages.constructorId(of: body) ?? 0, layer: layer,
                                apiId: apiId, authKeyId: authKeyId, messageId: message.messageId)
        calls.append(call)
        if let layer, !configuration.layers.contains(layer) {
            return .message(ServiceMessages.rpcResult(requestMessageId: message.messageId,
                                                      result: ServiceMessages.rpcError(RPCError(code: 400, message: "LAYER_INVALID"))))
        }
        if faults.delay > .zero { try await Task.sleep(for: faults.delay) }
        if faults.dropConnection > 0 {
            faults.dropConnection -= 1
            return .dropConnection
        }
        let reply: CallReply
        if let error = faults.error, faults.errorCount > 0 {
            faults.errorCount -= 1
            reply = .error(error)
        } else if let handler = handlers[call.constructorId] {
            reply = await handler(call)
        } else {
            reply = .error(RPCError(code: 400, message: "METHOD_NOT_IMPLEMENTED"))
        }
        switch reply {
        case .result(let bytes):
            let result = faults.gzipResults ? ServiceMessages.gzipPacked(bytes) : bytes
            return .message(ServiceMessages.rpcResult(requestMessageId: message.messageId, result: result))
        case .error(let error):
            return .message(ServiceMessages.rpcResult(requestMessageId: message.messageId, result: ServiceMessages.rpcError(error)))
        case .noReply:
            return nil
        case .dropConnection:
            return .dropConnection
        }
    }

    /// MTProto service functions (ping, future salts, destroy_session), answered by the DC itself.
    private func serviceAnswer(_ body: [UInt8], messageId: Int64) throws -> [UInt8]? {
        switch ServiceMessages.constructorId(of: body) {
        case MT.Functions.Ping.constructorId:
            let ping = try MT.Functions.Ping(tlBytes: body)
            return MT.Types.Pong(msgId: messageId, pingId: ping.pingId).serialized()
        case MT.Functions.PingDelayDisconnect.constructorId:
            let ping = try MT.Functions.PingDelayDisconnect(tlBytes: body)
            return MT.Types.Pong(msgId: messageId, pingId: ping.pingId).serialized()
        case MT.Functions.GetFutureSalts.constructorId:
            let request = try MT.Functions.GetFutureSalts(tlBytes: body)
            let start = Int32(now)
            let salts = (0..<max(1, min(request.num, 64))).map {
                MT.Types.FutureSalt(validSince: start + $0 * 3600, validUntil: start + ($0 + 1) * 3600, salt: Int64.random(in: .min ... .max))
            }
            return MT.Types.FutureSalts(reqMsgId: messageId, now: start, salts: salts).serialized()
        case MT.Functions.DestroySession.constructorId:
            let request = try MT.Functions.DestroySession(tlBytes: body)
            return ServiceMessages.rpcResult(requestMessageId: messageId,
                                             result: MT.Types.DestroySessionOk(sessionId: request.sessionId).serialized())
        default:
            return nil
        }
    }
}
