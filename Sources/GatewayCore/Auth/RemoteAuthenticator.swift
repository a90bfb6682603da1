import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// The original services' design: ask an auth service (`auth.remote.url`) whether a token is
/// good. It is called with the token as `Authorization: Bearer …` and answers 200 with the user
/// (`{id|sub|userId, organizationId, email, role}`, or the same under `user`). Positive answers
/// are cached for `cacheSeconds`.
public final class RemoteAuthenticator: Authenticator {
    private let url: String
    private let client: HTTPClient
    private let cacheDuration: Duration
    private let cache = Mutex<[String: (Principal, ContinuousClock.Instant)]>([:])

    public init(url: String, cacheSeconds: Int, client: HTTPClient) {
        self.url = url
        self.client = client
        cacheDuration = .seconds(cacheSeconds)
    }

    public func authenticate(token: String) async throws -> Principal {
        let now = ContinuousClock.now
        if let (principal, expires) = cache.withLock({ $0[token] }), expires > now { return principal }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(5))
        } catch {
            throw TokenRejected("auth service unreachable: \(error)")
        }
        guard response.status == .ok else { throw TokenRejected("auth service answered \(response.status.code)") }
        let body = try await response.body.collect(upTo: 1 << 20)
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw TokenRejected("auth service answered something that is not a JSON object")
        }
        let user = object["user"] as? [String: Any] ?? object
        func text(_ key: String) -> String? {
            if let value = user[key] as? String { return value }
            if let value = user[key] as? Int { return String(value) }
            return nil
        }
        guard let userId = text("id") ?? text("sub") ?? text("userId"), let organizationId = text("organizationId") else {
            throw TokenRejected("auth service answer lacks the user id or organizationId")
        }
        let principal = Principal(userId: userId, organizationId: organizationId, email: text("email"), role: text("role") ?? "user")
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[token] = (principal, now + cacheDuration)
        }
        return principal
    }
}
