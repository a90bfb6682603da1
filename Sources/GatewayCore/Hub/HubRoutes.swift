import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Engine.IO transports at /socket.io/: HTTP long-polling (GET/POST) and WebSocket, with the
/// polling → WebSocket upgrade. Protocol logic lives in `Hub`; this file only moves text.
struct HubRoutes {
    let hub: Hub
    let corsOrigins: [String]

    /// Engine.IO's own error bodies: `{"code": n, "message": "..."}` with status 400.
    private func engineError(_ code: Int, _ message: String, origin: String?) -> Response {
        text("{\"code\":\(code),\"message\":\"\(message)\"}", status: .badRequest, contentType: "application/json", origin: origin)
    }

    private func text(_ body: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=UTF-8", origin: String?)
        -> Response
    {
        text(ByteBuffer(string: body), status: status, contentType: contentType, origin: origin)
    }

    private func text(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=UTF-8", origin: String?)
        -> Response
    {
        var headers: HTTPFields = [.contentType: contentType]
        if let origin, corsOrigins.contains("*") || corsOrigins.contains(origin) {
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowCredentials] = "true"
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/socket.io") { request, _ in try await poll(request) }
        router.post("/socket.io") { request, _ in try await post(request) }
        router.on("/socket.io", method: .options) { request, _ in
            var response = text("", status: .noContent, origin: request.headers[.origin])
            response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            response.headers[.accessControlAllowHeaders] = "content-type"
            return response
        }
    }

    private func poll(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let origin = request.headers[.origin]
        guard query["EIO"] == "4" else { return engineError(5, "Unsupported protocol version", origin: origin) }
        guard query["transport"] == "polling" else { return engineError(0, "Transport unknown", origin: origin) }
        let connection: HubConnection
        if let sid = query["sid"] {
            guard let existing = hub.connection(sid: String(sid)) else { return engineError(1, "Session ID unknown", origin: origin) }
            guard existing.state.withLock({ $0.transport }) == .polling else {
                return engineError(3, "Bad request", origin: origin)
            }
            connection = existing
        } else {
            connection = hub.open(transport: .polling)
        }
        connection.state.withLock { $0.lastSeen = .now }
        guard let packets = await connection.outbox.drain() else {
            return text(EngineIOPacket.close.encoded, origin: origin)
        }
        connection.state.withLock { $0.lastSeen = .now }
        guard !packets.isEmpty else { return text(EngineIOPacket.noop.encoded, origin: origin) }
        return text(EngineIOPacket.encodePayload(packets), origin: origin)
    }

    private func post(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let origin = request.headers[.origin]
        guard query["EIO"] == "4", query["transport"] == "polling" else { return engineError(0, "Transport unknown", origin: origin) }
        guard let sid = query["sid"], let connection = hub.connection(sid: String(sid)) else {
            return engineError(1, "Session ID unknown", origin: origin)
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: hub.config.maxPayload)
        } catch {
            hub.close(connection, reason: "payload over \(hub.config.maxPayload) bytes")
            return text("payload too large", status: .contentTooLarge, origin: origin)
        }
        guard let payload = String(validating: body.readableBytesView, as: UTF8.self) else {
            hub.close(connection, reason: "payload is not UTF-8")
            return engineError(3, "Bad request", origin: origin)
        }
        for packet in payload.split(separator: EngineIOPacket.separator, omittingEmptySubsequences: false) {
            await hub.receive(packet, on: connection)
            if connection.isClosed { break }
        }
        return text("ok", contentType: "text/html", origin: origin)
    }

    /// The WebSocket side: a fresh session, or the upgrade of a polling one (`2probe` → `3probe`, then `5`).
    func webSocketRouter() -> Router<HubWebSocketRequestContext> {
        let router = Router(context: HubWebSocketRequestContext.self)
        let hub = self.hub
        router.ws("/socket.io") { request, _ in
            let query = request.uri.queryParameters
            guard query["EIO"] == "4", query["transport"] == "websocket" else { return .dontUpgrade }
            // Only a polling session can be upgraded, and only once.
            if let sid = query["sid"] {
                guard let session = hub.connection(sid: String(sid)), session.state.withLock({ $0.transport }) == .polling else {
                    return .dontUpgrade
                }
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let maxPayload = hub.config.maxPayload
            var messages = inbound.messages(maxSize: maxPayload).makeAsyncIterator()
            let connection: HubConnection
            if let sid = context.request.uri.queryParameters["sid"] {
                guard let polling = hub.connection(sid: String(sid)) else { return }
                guard case .text(let probe) = try await messages.next(), probe == "2probe" else { return }
                try await outbound.writeTextMessage("3probe")
                guard case .text(let upgrade) = try await messages.next(), upgrade == "5" else { return }
                let upgraded = polling.state.withLock { state -> Bool in
                    guard state.transport == .polling else { return false }
                    state.transport = .websocket
                    return true
                }
                guard upgraded else { return }
                connection = polling
            } else {
                connection = hub.open(transport: .websocket)
            }
            // From here the hub's packets go straight onto the channel (a waiting poll ends).
            do {
                try await WebSocketWire.attach(to: context.requestContext.channel, outbound: outbound, outbox: connection.outbox)
            } catch {
                hub.close(connection, reason: "WebSocket channel closed during setup: \(error)")
                return
            }
            do {
                while let message = try await messages.next() {
                    guard case .text(let text) = message else {
                        connection.send(.close)
                        hub.close(connection, reason: "binary frames are not supported")
                        break
                    }
                    // In a short-lived task: CONNECT's deep async frames (JWT verification, store
                    // and cluster calls) then grow that task's allocator, freed when it ends, not
                    // this one's, which would keep them (~15 KB) for as long as the socket is open.
                    await Task { await hub.receive(text[...], on: connection) }.value
                    if connection.isClosed { break }
                }
            } catch {
                hub.close(connection, reason: "transport error: \(error)")
            }
            // Closing the session flushes what its outbox still holds, then the close handshake.
            hub.close(connection, reason: "transport closed")
        }
        return router
    }
}

/// Hummingbird's basic WebSocket context plus the channel, which the hub writes to directly.
struct HubWebSocketRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
