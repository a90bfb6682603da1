/// Who is calling: from a verified token.
public struct Principal: Sendable, Equatable, Codable {
    public var userId: String
    public var organizationId: String
    public var email: String?
    public var role: String

    public init(userId: String, organizationId: String, email: String?, role: String) {
        self.userId = userId
        self.organizationId = organizationId
        self.email = email
        self.role = role
    }

    public var isAdmin: Bool { role == "admin" }
}

/// Verifies bearer tokens. Throws `TokenRejected` with the reason for any bad token.
public protocol Authenticator: Sendable {
    func authenticate(token: String) async throws -> Principal
}

public struct TokenRejected: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
