import Foundation
import JWTKit

/// Claims of a gateway token, as the original services issued them: `sub` (or `id`), `email`,
/// `organizationId`, `role`, plus the standard time claims.
public struct TokenClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim?
    public var id: String?
    public var email: String?
    public var organizationId: String
    public var role: String?
    public var iat: IssuedAtClaim?
    public var exp: ExpirationClaim?
    public var nbf: NotBeforeClaim?
    public var iss: IssuerClaim?
    public var aud: AudienceClaim?

    public init(
        userId: String, organizationId: String, role: String, email: String?, issuedAt: Date = Date(),
        expiresAt: Date, issuer: String? = nil, audience: String? = nil
    ) {
        sub = SubjectClaim(value: userId)
        self.organizationId = organizationId
        self.role = role
        self.email = email
        iat = IssuedAtClaim(value: issuedAt)
        exp = ExpirationClaim(value: expiresAt)
        iss = issuer.map { IssuerClaim(value: $0) }
        aud = audience.map { AudienceClaim(value: [$0]) }
    }

    /// The user: `sub`, or `id` for tokens of the original services.
    public var userId: String? { sub?.value ?? id }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp?.verifyNotExpired()
        try nbf?.verifyNotBefore()
    }
}

/// Mints development tokens (`gateway token`) with the configured HS256 secret.
public enum TokenMinter {
    public static func mint(_ claims: TokenClaims, secret: String) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }
}
