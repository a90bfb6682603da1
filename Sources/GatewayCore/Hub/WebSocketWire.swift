import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// A WebSocket session's outgoing side, written straight onto its NIO channel: a small handler
/// sits just below the frame encoder and writes the hub's pre-encoded frames (`HubFrame`), the
/// same buffer for every receiver of a broadcast, then flushes once per batch — no per-packet
/// async hop, no writer task per connection. Inbound stays on Hummingbird's WebSocket handler.
final class WebSocketWire: Sendable {
    let eventLoop: any EventLoop
    private let handler: NIOLoopBound<WireHandler>
    /// Hummingbird's writer, used only for the close handshake (its state machine owns it).
    private let outbound: WebSocketOutboundWriter

    private init(eventLoop: any EventLoop, handler: NIOLoopBound<WireHandler>, outbound: WebSocketOutboundWriter) {
        self.eventLoop = eventLoop
        self.handler = handler
        self.outbound = outbound
    }

    /// Adds the wire's handler to an upgraded WebSocket channel and attaches it to `outbox`.
    static func attach(to channel: any Channel, outbound: WebSocketOutboundWriter, outbox: Outbox) async throws {
        let wire = try await channel.eventLoop.submit { () throws -> WebSocketWire in
            let handler = WireHandler()
            let encoder = try channel.pipeline.syncOperations.handler(type: WebSocketFrameEncoder.self)
            try channel.pipeline.syncOperations.addHandler(handler, position: .before(encoder))
            // Clients send little (pongs, subscribes): a 256-byte first read buffer instead of
            // NIO's 2 KB, which the channel keeps for reuse while the socket is open.
            try channel.syncOptions?.setOption(
                ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            let wire = WebSocketWire(
                eventLoop: channel.eventLoop, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), outbound: outbound)
            // Weak: the outbox holds the wire while attached; the pipeline holds the handler.
            handler.becameWritable = { [weak wire, weak outbox] in
                if let wire, let outbox { wire.flush(outbox) }
            }
            return wire
        }.get()
        outbox.attach(wire)
    }

    /// On the event loop: writes what the outbox holds and flushes once. Unwritable (the client
    /// is not reading): waits for writability, unless the session is closed — then drops it.
    func flush(_ outbox: Outbox) {
        guard let context = handler.value.context else {
            _ = outbox.takeForWire()  // channel already gone
            return
        }
        guard context.channel.isWritable else {
            if outbox.wireStalled() { context.close(promise: nil) }
            return
        }
        let (packets, closed) = outbox.takeForWire()
        for packet in packets { context.write(NIOAny(packet.webSocketFrame), promise: nil) }
        if !packets.isEmpty { context.flush() }
        if closed {
            let outbound = self.outbound
            Task { try? await outbound.close(.normalClosure, reason: nil) }
        }
    }
}

/// Below `WebSocketFrameEncoder`: what it writes goes to the socket as is. Passes everything
/// else through; tells the wire when a stalled channel becomes writable again.
final class WireHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private(set) var context: ChannelHandlerContext?
    var becameWritable: (() -> Void)?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        becameWritable = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.fireChannelWritabilityChanged()
        if context.channel.isWritable { becameWritable?() }
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

    func run() {
        for group in groups {
            let flushes = group.flushes
            group.loop.execute {
                for (outbox, wire) in flushes { wire.flush(outbox) }
            }
        }
    }
}
