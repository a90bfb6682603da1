import Foundation
import Hummingbird
import NIOCore

/// Engine.IO transports at /socket.io/: HTTP long-polling (GET/POST) and WebSocket, with the
/// polling → WebSocket upgrade. Protocol logic lives in `Hub`; this file only moves text.
/// (The WebSocket transport itself: `HubHTTPChannel` and `WebSocketWire`.)
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
}
