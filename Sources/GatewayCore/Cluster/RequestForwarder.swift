import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// Proxies an API call to the instance that owns the account it needs: same method, path,
/// query, body, Authorization and Content-Type, plus a hop header naming this instance — a
/// request carrying it is always handled where it lands, so a call is forwarded at most once
/// (two instances that briefly disagree about an owner cannot bounce it between them).
/// An owner that does not answer is a 503 in the API's error shape, within `timeout`.
public struct RequestForwarder: Sendable {
    public static let hopHeader = "X-Gateway-Forwarded-By"
    static let hopField = HTTPField.Name(hopHeader)!

    let instanceId: String
    /// The whole exchange, long enough for the owner's own plugin timeout.
    let timeout: Duration
    let client: HTTPClient

    /// Its own client: a refused connection fails at once and a silent host after `connectTimeout`
    /// (the shared client's pool keeps retrying a dead owner until the connect timeout; the
    /// caller gets Retry-After instead). Shut it down with `shutdown()`.
    public init(instanceId: String, timeout: Duration, connectTimeout: Duration = .seconds(2)) {
        self.instanceId = instanceId
        self.timeout = timeout
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000)
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    static func isForwarded(_ request: Request) -> Bool { request.headers[hopField] != nil }

    public static let maxResponseBytes = 64 << 20

    func forward(_ request: Request, body: ByteBuffer?, to baseURL: String, owner: String, accountId: String) async throws -> Response {
        var headers: [(String, String)] = []
        for name in [HTTPField.Name.authorization, .contentType, .accept] {
            if let value = request.headers[name] { headers.append((name.rawName, value)) }
        }
        return try await forward(
            method: request.method.rawValue, pathAndQuery: request.uri.description, headers: headers, body: body, to: baseURL,
            owner: owner, accountId: accountId)
    }

    func forward(
        method: String, pathAndQuery: String, headers requestHeaders: [(String, String)], body: ByteBuffer?, to baseURL: String,
        owner: String, accountId: String
    ) async throws -> Response {
        var outgoing = HTTPClientRequest(url: baseURL + pathAndQuery)
        outgoing.method = HTTPMethod(rawValue: method)
        for (name, value) in requestHeaders { outgoing.headers.add(name: name, value: value) }
        outgoing.headers.add(name: Self.hopHeader, value: instanceId)
        if let body { outgoing.body = .bytes(body) }
        let unavailable = { (reason: String) in
            APIError(
                .serviceUnavailable, "owner_unavailable",
                "account \(accountId) is driven by gateway instance \(owner) (\(baseURL)), which did not answer: \(reason); "
                    + "retry shortly (another instance takes the account over when its lease expires)",
                details: ["owner": .string(owner)], retryAfter: 2)
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(outgoing, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
            bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch {
            throw unavailable("\(error)")
        }
        var headers = HTTPFields()
        for name in ["Content-Type", "Retry-After", "Cache-Control"] {
            if let value = response.headers.first(name: name), let field = HTTPField.Name(name) { headers[field] = value }
        }
        headers[Self.hopField] = owner
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: ResponseBody(byteBuffer: bytes))
    }
}
