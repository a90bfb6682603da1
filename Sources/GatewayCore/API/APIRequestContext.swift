import Hummingbird

/// Hummingbird's request context plus the caller, set by `AuthMiddleware`.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// The authenticated caller (routes behind `AuthMiddleware` always have one).
    func caller() throws -> Principal {
        guard let principal else { throw APIError.unauthorized }
        return principal
    }

    func admin() throws -> Principal {
        let principal = try caller()
        guard principal.isAdmin else { throw APIError.forbidden("this needs the admin role") }
        return principal
    }
}
