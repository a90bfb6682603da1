import MTProtoTransport
import NIOCore
import NIOPosix

/// One TCP connection carrying MTProto transport frames: packets in as an async stream, packets
/// out through `send`. Framing (and obfuscation) happens on the channel's event loop, in order.
public final class TransportConnection: Sendable {
    public let packets: AsyncThrowingStream<[UInt8], Error>
    let channel: Channel

    init(channel: Channel, packets: AsyncThrowingStream<[UInt8], Error>) {
        self.channel = channel
        self.packets = packets
    }

    /// Connects as a client using the given transport.
    public static func connect(host: String, port: Int, transport: TransportConfiguration,
                               group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               timeout: TimeAmount = .seconds(10)) async throws -> TransportConnection {
        let (packets, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let codec = TransportCodec(configuration: transport, role: .client)
                    try channel.pipeline.syncOperations.addHandler(TransportFrameHandler(codec: codec, continuation: continuation))
                }
            }
            .connect(host: host, port: port).get()
        return TransportConnection(channel: channel, packets: packets)
    }

    /// Writes one MTProto packet (plain or encrypted message bytes).
    public func send(_ packet: [UInt8]) {
        channel.writeAndFlush(OutgoingFrame.packet(packet), promise: nil)
    }

    /// Server side: a transport error code (-404, -429) in place of a packet.
    public func sendTransportError(_ code: Int32) {
        channel.writeAndFlush(OutgoingFrame.transportError(code), promise: nil)
    }

    public func close() {
        channel.close(promise: nil)
    }

    public var remoteDescription: String { channel.remoteAddress.map { "\($0)" } ?? "?" }
}

enum OutgoingFrame: Sendable {
    case packet([UInt8])
    case transportError(Int32)
}

/// Bytes ↔ transport frames on the event loop; decoding errors end the packet stream with the
/// typed `TransportError` and close the connection.
final class TransportFrameHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutgoingFrame
    typealias OutboundOut = ByteBuffer

    private let codec: TransportCodec
    private let continuation: AsyncThrowingStream<[UInt8], Error>.Continuation

    init(codec: TransportCodec, continuation: AsyncThrowingStream<[UInt8], Error>.Continuation) {
        self.codec = codec
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        do {
            for event in try codec.decode(bytes) {
                if case .packet(let packet) = event { continuation.yield(packet) }
            }
        } catch {
            continuation.finish(throwing: error)
            context.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes: [UInt8]
        switch unwrapOutboundIn(data) {
        case .packet(let packet): bytes = codec.encode(packet)
        case .transportError(let code): bytes = codec.encodeError(code: code)
        }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }
}

/// Accepts transport connections (any transport kind, detected from the client's first bytes);
/// used by the fake data center in tests.
public final class TransportListener: Sendable {
    let channel: Channel
    public let port: Int

    init(channel: Channel) {
        self.channel = channel
        port = channel.localAddress?.port ?? 0
    }

    public static func bind(host: String, port: Int, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            accept: @escaping @Sendable (TransportConnection) -> Void) async throws -> TransportListener {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let (packets, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
                    try channel.pipeline.syncOperations.addHandler(TransportFrameHandler(codec: .server(), continuation: continuation))
                    accept(TransportConnection(channel: channel, packets: packets))
                }
            }
            .bind(host: host, port: port).get()
        return TransportListener(channel: channel)
    }

    public func close() async {
        try? await channel.close()
    }
}
