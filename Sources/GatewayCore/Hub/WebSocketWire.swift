import NIOCore
import NIOWebSocket

/// A hub WebSocket after the upgrade (`HubHTTPChannel`): a plain NIO handler behind NIO's frame
/// decoder, with no task per connection. It runs the WebSocket protocol (assembles fragmented
/// text messages up to `hub.maxPayload`, validates UTF-8 — invalid: close 1007 —, answers pings,
/// does the close handshake), the Engine.IO transport upgrade (`2probe` → `3probe`, then `5`), and
/// hands each text message to the hub in order, one at a time. Outgoing, it writes the hub's
/// pre-encoded frames (`HubFrame`: the same buffer for every receiver of a broadcast) straight
/// to the socket and flushes once per batch; control frames are encoded here too.
///
/// Everything mutable is touched on the channel's event loop only (hence `@unchecked Sendable`:
/// the outbox keeps the wire to schedule flushes on that loop).
final class WebSocketWire: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let eventLoop: any EventLoop
    private let hub: Hub

    private enum Phase {
        /// A polling session's upgrade: waiting for `2probe`, then for `5`.
        case probing(HubConnection), upgrading(HubConnection)
        case open(HubConnection)
        /// Not a session (refused, or closed before it started).
        case none
    }

    private var context: ChannelHandlerContext?
    private var phase: Phase = .none
    /// The polling session's id to upgrade, or nil for a new WebSocket session.
    private var upgradingSid: String?
    /// A fragmented text message being assembled.
    private var fragments: ByteBuffer?
    /// Text messages waiting for the one the hub is handling.
    private var inbound: CircularBuffer<String> = CircularBuffer(initialCapacity: 0)
    private var receiving = false
    /// Reads are held back while too many messages wait (a client sending faster than the hub answers).
    private var readsPaused = false
    private var readPending = false
    private var closeSent = false
    private var closeTimer: Scheduled<Void>?
    /// The channel's writability, as its changes were reported (saves asking the channel per flush).
    private var writable = true
    /// The outbox's packets are swapped into this (capacity kept), so a flush allocates nothing.
    private var writing: [HubFrame] = []

    private static let maxWaitingMessages = 32
    private static let closeTimeout = TimeAmount.seconds(15)

    init(hub: Hub, upgrading sid: String?, eventLoop: any EventLoop) {
        self.hub = hub
        self.upgradingSid = sid
        self.eventLoop = eventLoop
    }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        if let sid = upgradingSid {
            upgradingSid = nil
            // Checked by the upgrader; gone meanwhile: nothing to upgrade.
            guard let polling = hub.connection(sid: sid) else { return sendClose(.normalClosure) }
            phase = .probing(polling)
        } else {
            let connection = hub.open(transport: .websocket)
            phase = .open(connection)
            connection.outbox.attach(self)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        endSession()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        endSession()
        context.fireChannelInactive()
    }

    private func endSession() {
        closeTimer?.cancel()
        closeTimer = nil
        inbound.removeAll()
        fragments = nil
        switch phase {
        case .open(let connection): hub.close(connection, reason: "transport closed")
        case .probing, .upgrading, .none: break
        }
        phase = .none
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client's FIN (remote half-closure is allowed on the server's sockets): done.
            context.close(promise: nil)
        } else if event is ChannelShouldQuiesceEvent {
            // Server shutdown: the session ends like any other (queued packets, then a close frame).
            if case .open(let connection) = phase {
                hub.close(connection, reason: "server shutting down")
            } else {
                sendClose(.goingAway)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            fail(.messageTooLarge)
        case NIOWebSocketError.fragmentedControlFrame, NIOWebSocketError.multiByteControlFrameLength:
            fail(.protocolError)
        default:
            context.close(promise: nil)
        }
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if closeSent {
            // Closing: only the client's close frame matters now.
            if frame.opcode == .connectionClose { context.close(promise: nil) }
            return
        }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else { return fail(.protocolError) }
        switch frame.opcode {
        case .text:
            guard fragments == nil else { return fail(.protocolError) }
            if frame.fin {
                received(frame.unmaskedData)
            } else {
                fragments = frame.unmaskedData
            }
        case .continuation:
            guard var message = fragments else { return fail(.protocolError) }
            guard message.readableBytes + frame.length <= hub.config.maxPayload else { return fail(.messageTooLarge) }
            fragments = nil  // unique while appending
            var data = frame.unmaskedData
            message.writeBuffer(&data)
            if frame.fin { received(message) } else { fragments = message }
        case .binary:
            // Engine.IO text only (as before: the session is closed, a close packet first).
            guard case .open(let connection) = phase else { return sendClose(.normalClosure) }
            connection.send(.close)
            hub.close(connection, reason: "binary frames are not supported")
        case .ping:
            var pong = Self.controlFrame(opcode: 0x8A, payloadLength: frame.length, allocator: context.channel.allocator)
            var data = frame.unmaskedData
            pong.writeBuffer(&data)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        case .connectionClose:
            receivedClose(frame.unmaskedData)
        default:
            fail(.protocolError)  // reserved opcode
        }
    }

    /// A complete text message.
    private func received(_ buffer: ByteBuffer) {
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            return fail(.dataInconsistentWithMessage)  // 1007
        }
        switch phase {
        case .probing(let polling):
            guard text == "2probe" else { return sendClose(.normalClosure) }
            phase = .upgrading(polling)
            context?.writeAndFlush(wrapOutboundOut(HubFrame("3probe").webSocketFrame), promise: nil)
        case .upgrading(let polling):
            let upgraded = text == "5" && polling.state.withLock { state -> Bool in
                guard state.transport == .polling else { return false }
                state.transport = .websocket
                return true
            }
            guard upgraded else { return sendClose(.normalClosure) }
            // From here the hub's packets go straight onto the channel (a waiting poll ends).
            phase = .open(polling)
            polling.outbox.attach(self)
        case .open(let connection):
            if receiving || !inbound.isEmpty {
                inbound.append(text)
                if inbound.count >= Self.maxWaitingMessages { readsPaused = true }
            } else {
                handle(text, on: connection)
            }
        case .none:
            break
        }
    }

    /// Hands `text` to the hub: transport packets at once, Socket.IO messages in a task (they
    /// may wait for JWT verification or the store), after which the next waiting one follows.
    private func handle(_ text: String, on connection: HubConnection) {
        var next: String? = text
        while let text = next {
            if connection.isClosed {
                inbound.removeAll()
                return
            }
            if let message = hub.receiveTransport(text[...], on: connection) {
                receiving = true
                let hub = self.hub
                Task {
                    await hub.receive(message: message, on: connection)
                    self.eventLoop.execute { self.receivingEnded() }
                }
                return
            }
            next = inbound.popFirst()
        }
        resumeReads()
    }

    private func receivingEnded() {
        receiving = false
        guard case .open(let connection) = phase else { return }
        if let next = inbound.popFirst() { handle(next, on: connection) } else { resumeReads() }
    }

    private func resumeReads() {
        guard readsPaused, inbound.count < Self.maxWaitingMessages / 2 else { return }
        readsPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    // MARK: - Close

    /// The client's close frame: answered (1000, or 1002 for a malformed one), then the connection closes.
    private func receivedClose(_ data: ByteBuffer) {
        var data = data
        let size = data.readableBytes
        let code = data.readWebSocketErrorCode()
        var reply = WebSocketErrorCode.normalClosure
        if size > 0 && code == nil {
            reply = .protocolError
        } else if data.readableBytes > 0, String(validating: data.readableBytesView, as: UTF8.self) == nil {
            reply = .protocolError
        } else if case .unknown(let value) = code, value < 3000 || value > 4999 {
            reply = .protocolError
        }
        sendClose(reply, thenClose: true)
    }

    /// Fails the connection: a close frame with `code`, then the connection closes.
    private func fail(_ code: WebSocketErrorCode) {
        sendClose(code, thenClose: true)
    }

    /// Sends a close frame (once). Then either closes at once, or half-closes and waits (bounded)
    /// for the client's close frame or FIN.
    private func sendClose(_ code: WebSocketErrorCode, thenClose: Bool = false) {
        guard let context, context.channel.isActive else { return }
        if closeSent {
            if thenClose { context.close(promise: nil) }
            return
        }
        closeSent = true
        inbound.removeAll()
        fragments = nil
        var frame = Self.controlFrame(opcode: 0x88, payloadLength: 2, allocator: context.channel.allocator)
        frame.write(webSocketErrorCode: code)
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        if thenClose {
            promise.futureResult.whenComplete { _ in loopBound.value.close(promise: nil) }
        } else {
            promise.futureResult.whenComplete { _ in loopBound.value.close(mode: .output, promise: nil) }
            closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeTimeout) { [weak self] in
                self?.context?.close(promise: nil)
            }
        }
    }

    private static func controlFrame(opcode: UInt8, payloadLength: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 2 + payloadLength)
        buffer.writeInteger(opcode)  // FIN + opcode
        buffer.writeInteger(UInt8(payloadLength))  // control frames carry at most 125 bytes
        return buffer
    }

    // MARK: - Outbound

    /// On the event loop: writes what the outbox holds and flushes once. Unwritable (the client
    /// is not reading): waits for writability, unless the session is closed — then drops it.
    func flush(_ outbox: Outbox) {
        guard let context, !closeSent else {
            writing.removeAll(keepingCapacity: true)
            _ = outbox.takeForWire(into: &writing)  // channel already gone or closing
            writing.removeAll()
            return
        }
        guard writable else {
            if outbox.wireStalled() { context.close(promise: nil) }
            return
        }
        let closed = outbox.takeForWire(into: &writing)
        for packet in writing { context.write(wrapOutboundOut(packet.webSocketFrame), promise: nil) }
        if closed {
            writing.removeAll()
            sendClose(.normalClosure)  // flushes the packets too
        } else if !writing.isEmpty {
            // Keep a small buffer for the next flush; a large one (a replay) goes.
            if writing.count > 64 { writing = [] } else { writing.removeAll(keepingCapacity: true) }
            context.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        context.fireChannelWritabilityChanged()
        if writable, case .open(let connection) = phase { flush(connection.outbox) }
    }
}

/// The flushes a batch of pushes needs: one event-loop task per event loop, not one per connection.
struct WireFlushes {
    private var groups: [(loop: any EventLoop, flushes: [(Outbox, WebSocketWire)])] = []

    mutating func add(_ outbox: Outbox, on wire: WebSocketWire) {
        if let index = groups.firstIndex(where: { $0.loop === wire.eventLoop }) {
            groups[index].flushes.append((outbox, wire))
        } else {
            groups.append((wire.eventLoop, [(outbox, wire)]))
        }
    }

    /// How long a broadcast's flushes wait before they run. A gateway send publishes two events
    /// (MESSAGE_SENT, then MESSAGE_RECEIVED from the channel's echo) about a millisecond apart
    /// (more under load); waiting 2 ms lets both leave in one write call per connection, and the
    /// kernel's cost is per call far more than per byte (docs/BENCHMARKS.md, bench:hub).
    static let broadcastDelay = TimeAmount.milliseconds(2)

    func run(delay: TimeAmount = .zero) {
        for group in groups {
            let flushes = group.flushes
            if delay > .zero {
                group.loop.scheduleTask(in: delay) {
                    for (outbox, wire) in flushes { wire.flush(outbox) }
                }
            } else {
                group.loop.execute {
                    for (outbox, wire) in flushes { wire.flush(outbox) }
                }
            }
        }
    }
}
