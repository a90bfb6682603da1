import Foundation
import MTProto
import MTProtoCrypto
import MTProtoTL
import MTProtoTransport
import NIOCore
import NIOPosix
import TLRuntime

/// Drives one MTProto session with one data center over TCP: creates the auth key when there is
/// none, sends requests and matches answers, forwards updates, keeps the link alive with
/// ping_delay_disconnect, and reconnects with backoff (re-sending unanswered requests).
public actor MTProtoSender {
    public let configuration: SenderConfiguration
    public nonisolated let events: AsyncStream<SenderEvent>
    public private(set) var authorization: AuthorizationState?
    /// Packets dropped by the session (tampered, replayed, out of window): counted, never fatal.
    public private(set) var rejectedPackets = 0
    public private(set) var lastRejection: SessionError?

    private let eventSink: AsyncStream<SenderEvent>.Continuation
    private let group: EventLoopGroup
    private var connection: TransportConnection?
    private var session: ClientSession?
    private var pending: [RequestToken: CheckedContinuation<[UInt8], Error>] = [:]
    private var readerTask: Task<Void, Never>?
    private var pingTask: Task<Void, Never>?
    private var ackFlushScheduled = false
    private var closed = false
    private var reconnecting = false

    public init(configuration: SenderConfiguration, authorization: AuthorizationState? = nil,
                group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.authorization = authorization
        self.group = group
        (events, eventSink) = AsyncStream<SenderEvent>.makeStream()
    }

    public var isConnected: Bool { connection != nil }

    /// Connects (creating the auth key first if needed) and starts the keepalive.
    public func connect() async throws {
        guard connection == nil else { return }
        closed = false
        try await establish()
        startPing()
    }

    /// Closes the link; pending requests fail with `.closed`.
    public func close() {
        closed = true
        pingTask?.cancel()
        connection?.close()
        connection = nil
        failAll(SenderError.closed("closed by the client"))
        eventSink.yield(.closed("closed by the client"))
    }

    /// Calls `function` and decodes its result; an rpc_error is thrown as `RPCError`.
    public func invoke<F: TLFunction>(_ function: F) async throws -> F.Result {
        try F.Result(tlBytes: try await invokeRaw(function.serialized()))
    }

    /// Sends serialized function bytes; returns the result's bytes.
    public func invokeRaw(_ body: [UInt8]) async throws -> [UInt8] {
        guard let session, !closed else { throw SenderError.notConnected }
        let token = session.send(body)
        let timeout = configuration.requestTimeout
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expire(token)
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            pending[token] = continuation
            flush()
        }
    }

    // MARK: Connection

    private func establish() async throws {
        let connection: TransportConnection
        do {
            connection = try await TransportConnection.connect(
                host: configuration.host, port: configuration.port, transport: configuration.transport, group: group,
                timeout: .nanoseconds(Int64(configuration.connectTimeout.components.seconds) * 1_000_000_000))
        } catch {
            throw SenderError.connectionFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        // One task owns the connection's packet stream: the handshake (if needed), then the session.
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, Error>) in
            readerTask = Task { await self.run(connection, ready: ready) }
        }
    }

    private func run(_ connection: TransportConnection, ready: CheckedContinuation<Void, Error>) async {
        var packets = connection.packets.makeAsyncIterator()
        if authorization == nil {
            do {
                let state = try await handshake(connection, &packets)
                authorization = state
                eventSink.yield(.authorizationChanged(state))
            } catch {
                connection.close()
                ready.resume(throwing: error)
                return
            }
        }
        guard let authorization else { return ready.resume(throwing: SenderError.handshake("no authorization")) }
        if let session {
            session.connectionLost()
        } else {
            session = ClientSession(authKey: authorization.authKey, salt: authorization.salt,
                                    timeOffset: authorization.timeOffset, now: { Date().timeIntervalSince1970 })
        }
        self.connection = connection
        flush()
        ready.resume()
        var reason = "closed by the server"
        do {
            while let packet = try await packets.next(isolation: #isolation) { handle(packet) }
        } catch TransportError.serverError(code: -404) {
            // The DC does not know our auth key (it was destroyed or never existed there):
            // reconnecting with it is pointless; the layer above decides (new key, or logged out).
            authKeyRejected(connection)
            return
        } catch {
            reason = "\(error)"
        }
        connectionEnded(connection, reason: reason)
    }

    private func handshake(_ connection: TransportConnection,
                           _ packets: inout AsyncThrowingStream<[UInt8], Error>.Iterator) async throws -> AuthorizationState {
        let handshake = ClientHandshake(rsaKeys: configuration.rsaKeys, dcId: configuration.dcId,
                                        now: { Date().timeIntervalSince1970 })
        // A silent server must not hang us: closing the connection ends the packet stream.
        let timeout = configuration.handshakeTimeout
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            connection.close()
        }
        defer { watchdog.cancel() }
        connection.send(handshake.start())
        do {
            while let packet = try await packets.next(isolation: #isolation) {
                switch try handshake.receive(packet) {
                case .send(let reply):
                    connection.send(reply)
                case .done(let result, let reply):
                    if let reply { connection.send(reply) }
                    return AuthorizationState(authKey: result.authKey, salt: result.serverSalt, timeOffset: result.timeOffset)
                }
            }
        } catch let error as HandshakeError {
            throw SenderError.handshake("\(error)")
        } catch {
            throw SenderError.connectionFailed("during the handshake: \(error)")
        }
        throw SenderError.handshake("connection closed before the key was agreed (timeout \(timeout))")
    }

    private func handle(_ packet: [UInt8]) {
        guard let session else { return }
        let events: [SessionEvent]
        do {
            events = try session.receive(packet)
        } catch let error as SessionError {
            rejectedPackets += 1
            lastRejection = error
            return
        } catch {
            rejectedPackets += 1
            return
        }
        for event in events {
            switch event {
            case .result(let token, .success(let bytes)): pending.removeValue(forKey: token)?.resume(returning: bytes)
            case .result(let token, .failure(let error)): pending.removeValue(forKey: token)?.resume(throwing: error)
            case .failed(let token, let code): pending.removeValue(forKey: token)?.resume(throwing: SenderError.refusedByServer(code: code))
            case .update(let bytes): eventSink.yield(.update(bytes))
            case .newSessionCreated: eventSink.yield(.newSession)
            case .stateChanged:
                authorization?.salt = session.salt
                authorization?.timeOffset = session.timeOffset
                if let authorization { eventSink.yield(.authorizationChanged(authorization)) }
            }
        }
        if session.hasOutgoing {
            flush()
        } else if session.hasPendingAcknowledgements && !ackFlushScheduled {
            ackFlushScheduled = true
            Task {
                try? await Task.sleep(for: .milliseconds(50))
                self.flushAcknowledgements()
            }
        }
    }

    private func flushAcknowledgements() {
        ackFlushScheduled = false
        flush()
    }

    private func flush() {
        guard let connection, let session else { return }
        while let packet = session.pack() { connection.send(packet) }
    }

    private func expire(_ token: RequestToken) {
        guard let continuation = pending.removeValue(forKey: token) else { return }
        session?.cancel(token)
        continuation.resume(throwing: SenderError.timeout)
    }

    private func connectionEnded(_ ended: TransportConnection, reason: String) {
        guard connection === ended else { return }
        connection = nil
        guard !closed else { return }
        eventSink.yield(.connectionLost(reason))
        Task { await self.reconnect(after: reason) }
    }

    private func authKeyRejected(_ ended: TransportConnection) {
        guard connection === ended else { return }
        connection = nil
        closed = true
        pingTask?.cancel()
        failAll(SenderError.authKeyRejected)
        eventSink.yield(.closed("the data center rejected the auth key (-404)"))
    }

    private func reconnect(after reason: String) async {
        guard !reconnecting else { return }
        reconnecting = true
        defer { reconnecting = false }
        var delay = configuration.reconnectBaseDelay
        for _ in 0..<configuration.reconnectAttempts {
            // Exponential backoff with jitter, so many accounts do not reconnect in lockstep.
            let jitter = Double.random(in: 0.8...1.2)
            try? await Task.sleep(for: delay * jitter)
            if closed { return }
            do {
                try await establish()
                eventSink.yield(.reconnected)
                return
            } catch {
                delay = min(delay * 2, configuration.reconnectMaximumDelay)
            }
        }
        closed = true
        pingTask?.cancel()
        let message = "could not reconnect after \(configuration.reconnectAttempts) attempts (\(reason))"
        failAll(SenderError.connectionFailed(message))
        eventSink.yield(.closed(message))
    }

    private func failAll(_ error: Error) {
        let waiting = pending
        pending.removeAll()
        for continuation in waiting.values { continuation.resume(throwing: error) }
    }

    private func startPing() {
        pingTask?.cancel()
        let interval = configuration.pingInterval
        pingTask = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled, let self else { return }
                let ping = MT.Functions.PingDelayDisconnect(pingId: Int64.random(in: .min ... .max),
                                                           disconnectDelay: Int32(interval.components.seconds) + 15)
                _ = try? await self.invoke(ping)
            }
        }
    }
}
