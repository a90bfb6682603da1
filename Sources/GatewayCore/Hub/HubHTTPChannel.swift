import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// The gateway's HTTP/1 server channel: requests go to Hummingbird's responder (REST routes,
/// Engine.IO long-polling), and a WebSocket upgrade of `/socket.io/` is served by the hub's own
/// NIO handler (`WebSocketWire`). No task stays behind for an upgraded connection: Hummingbird's
/// per-connection task returns once the upgrade is done, and the socket lives on in its pipeline
/// (NIO's frame decoder, then the wire). Modelled on HummingbirdWebSocket's
/// `HTTP1WebSocketUpgradeChannel`, whose async WebSocket handler kept ~15 KB of task frames per
/// idle connection.
struct HubHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        /// The hub's WebSocket handler is in the pipeline; nothing left to do here.
        case webSocket
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    private let hub: Hub
    private let http1 = HTTP1Channel.Configuration()

    init(responder: @escaping HTTPChannelHandler.Responder, hub: Hub) {
        self.responder = Self.upgradeResponder(responder)
        self.hub = hub
    }

    /// The Hummingbird server builder for `Application(server:)`.
    static func builder(hub: Hub) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in HubHTTPChannel(responder: responder, hub: hub) }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let upgrader = HubWebSocketUpgrader(hub: hub, upgradeAttempted: upgradeAttempted)
            let http1 = self.http1
            let serverUpgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration<UpgradeResult>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return upgradeAttempted.value ? .failedUpgrade(asyncChannel) : .notUpgraded(asyncChannel)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: serverUpgradeConfiguration)
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // handled by Hummingbird
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .webSocket:
                break  // served by WebSocketWire from here on
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .failedUpgrade(let http1):
                logger.debug("WebSocket upgrade refused")
                await Self.writeFailedUpgrade(http1, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("upgrade failed as input was closed")
        } catch {
            logger.error("Error handling upgrade result", metadata: ["error.type": .string("\(error)")])
        }
    }

    /// A refused upgrade: 400, then the connection closes.
    private static func writeFailedUpgrade(_ asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        do {
            try await asyncChannel.executeThenClose { _, outbound in
                let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
            }
        } catch {
            logger.trace("failed to write the refused upgrade's answer: \(error)")
        }
    }

    /// NIO only upgrades a connection's first request: an upgrade asked later on a kept-alive
    /// connection is redirected to the same URI with the connection closed, so the client retries
    /// on a new one (as HummingbirdWebSocket does).
    private static func upgradeResponder(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct RedirectCloseError: Error {}
        return { request, responseWriter, channel in
            if request.headers[.upgrade] == "websocket" {
                var path = request.uri.path
                if let query = request.uri.query { path += "?\(query)" }
                let response = HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: path])
                try await responseWriter.writeResponse(response)
                throw RedirectCloseError()
            }
            try await responder(request, responseWriter, channel)
        }
    }
}

/// The WebSocket upgrade of `/socket.io/?EIO=4&transport=websocket[&sid=…]`: NIO's upgrader checks
/// the handshake and answers 101; the pipeline then gets NIO's frame decoder and the hub's
/// `WebSocketWire` (which writes its frames itself: no frame encoder, no error handler).
struct HubWebSocketUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = HubHTTPChannel.UpgradeResult

    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []
    private let hub: Hub
    private let handshake: NIOTypedWebSocketServerUpgrader<UpgradeResult>

    init(hub: Hub, upgradeAttempted: NIOLoopBoundBox<Bool>) {
        self.hub = hub
        handshake = NIOTypedWebSocketServerUpgrader(
            maxFrameSize: hub.config.maxPayload,
            shouldUpgrade: { channel, head in
                upgradeAttempted.value = true
                return channel.eventLoop.makeSucceededFuture(Self.accepts(head, hub: hub) ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededFuture(.webSocket) })
    }

    /// Engine.IO v4 over WebSocket at /socket.io/; with a sid, only a polling session, once.
    static func accepts(_ head: HTTPRequestHead, hub: Hub) -> Bool {
        let uri = URI(head.uri)
        guard uri.path == "/socket.io/" || uri.path == "/socket.io" else { return false }
        let query = uri.queryParameters
        guard query["EIO"] == "4", query["transport"] == "websocket" else { return false }
        if let sid = query["sid"] {
            guard let session = hub.connection(sid: String(sid)), session.state.withLock({ $0.transport }) == .polling else {
                return false
            }
        }
        return true
    }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders)
        -> EventLoopFuture<HTTPHeaders>
    {
        handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            let sid = URI(upgradeRequest.uri).queryParameters["sid"].map(String.init)
            // Clients send little (pongs, subscribes): a 256-byte first read buffer instead of
            // NIO's 2 KB, which the channel keeps for reuse while the socket is open.
            try channel.syncOptions?.setOption(
                ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: hub.config.maxPayload)))
            try channel.pipeline.syncOperations.addHandler(WebSocketWire(hub: hub, upgrading: sid, eventLoop: channel.eventLoop))
            return .webSocket
        }
    }
}
