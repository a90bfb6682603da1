import Hummingbird

/// Requires `Authorization: Bearer <token>`, verified by the configured authenticator, and
/// applies the per-token rate limit.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let authenticator: any Authenticator
    let rateLimiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.prefix(7).lowercased() == "bearer " else {
            throw APIError.unauthorized
        }
        let token = String(header.dropFirst("bearer ".count).trimming { $0 == " " || $0 == "\t" })
        let principal: Principal
        do {
            principal = try await authenticator.authenticate(token: token)
        } catch let rejected as TokenRejected {
            throw APIError(.unauthorized, "unauthorized", "invalid token: \(rejected.description)")
        }
        if let wait = rateLimiter.acquire(key: "\(principal.organizationId)/\(principal.userId)/\(token.suffix(16))") {
            throw APIError(.tooManyRequests, "rate_limited", "too many requests; retry in \(wait) s", retryAfter: wait)
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

extension Substring {
    /// Without the given characters at either end (Foundation's trimmingCharacters bridges
    /// through NSString: microseconds on every request).
    func trimming(_ isTrimmed: (Character) -> Bool) -> Substring {
        guard let first = firstIndex(where: { !isTrimmed($0) }), let last = lastIndex(where: { !isTrimmed($0) }) else { return "" }
        return self[first...last]
    }
}
