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
        var headers: HTTPFields = [.contentType: contentType]
        if let origin, corsOrigins.contains("*") || corsOrigins.contains(origin) {
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowCredentials] = "true"
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
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
        return text(packets.isEmpty ? EngineIOPacket.noop.encoded : EngineIOPacket.encodePayload(packets), origin: origin)
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
    func webSocketRouter() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
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
                polling.outbox.interrupt()
                connection = polling
            } else {
                connection = hub.open(transport: .websocket)
            }
            let writer = Task {
                while let packets = await connection.outbox.drain() {
                    for packet in packets { try await outbound.writeTextMessage(packet) }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            do {
                while let message = try await messages.next() {
                    guard case .text(let text) = message else {
                        connection.send(.close)
                        hub.close(connection, reason: "binary frames are not supported")
                        break
                    }
                    await hub.receive(text[...], on: connection)
                    if connection.isClosed { break }
                }
            } catch {
                hub.close(connection, reason: "transport error: \(error)")
            }
            // Closing the session closes its outbox, which ends the writer.
            hub.close(connection, reason: "transport closed")
            _ = await writer.result
        }
        return router
    }
}
