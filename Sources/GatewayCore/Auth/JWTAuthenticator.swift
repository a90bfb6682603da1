import Foundation
import JWTKit

/// Verifies JWTs locally with jwt-kit: an HS256 secret, an RSA/EC public key (PEM), and/or a
/// JWKS file. The token's `alg` must be one the configured keys can produce — `none` and
/// algorithm confusion (an HS256 token against an RSA key) are refused before any signature check.
public struct JWTAuthenticator: Authenticator {
    private let keys: JWTKeyCollection
    private let allowedAlgorithms: Set<String>
    private let issuer: String?
    private let audience: String?
    private let verified = VerifiedTokenCache()

    public init(config: JWTConfig) async throws {
        let keys = JWTKeyCollection()
        var algorithms = Set<String>()
        if let secret = config.secret {
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            algorithms.insert("HS256")
        }
        if let path = config.publicKeyFile {
            let pem = try String(contentsOfFile: path, encoding: .utf8)
            if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: "pem")
                algorithms.insert("RS256")
            } else if let ec = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: ec, kid: "pem")
                algorithms.insert("ES256")
            } else {
                throw TokenRejected("auth.jwt.public_key: \(path) holds no RSA or P-256 public key")
            }
        }
        if let path = config.jwksFile {
            let json = try String(contentsOfFile: path, encoding: .utf8)
            try await keys.add(jwksJSON: json)
            algorithms.formUnion(["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"])
        }
        self.keys = keys
        allowedAlgorithms = algorithms
        issuer = config.issuer
        audience = config.audience
    }

    public func authenticate(token: String) async throws -> Principal {
        if let principal = verified.principal(for: token) { return principal }
        let algorithm = try Self.headerAlgorithm(of: token)
        guard allowedAlgorithms.contains(algorithm) else {
            throw TokenRejected("algorithm \(algorithm) is not accepted")
        }
        let claims: TokenClaims
        do {
            claims = try await keys.verify(token, as: TokenClaims.self, iteratingKeys: true)
        } catch {
            throw TokenRejected("token rejected: \(error)")
        }
        if let issuer, claims.iss?.value != issuer { throw TokenRejected("wrong issuer") }
        if let audience, !(claims.aud?.value.contains(audience) ?? false) { throw TokenRejected("wrong audience") }
        guard let userId = claims.userId, !userId.isEmpty else { throw TokenRejected("token has no sub or id") }
        guard !claims.organizationId.isEmpty else { throw TokenRejected("token has no organizationId") }
        let principal = Principal(userId: userId, organizationId: claims.organizationId, email: claims.email, role: claims.role ?? "user")
        verified.remember(principal, for: token, notBefore: claims.nbf?.value, expiresAt: claims.exp?.value)
        return principal
    }

    /// The `alg` of the token's header, read without trusting anything else in it.
    static func headerAlgorithm(of token: String) throws -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[2].isEmpty else { throw TokenRejected("not a signed JWT") }
        var base64 = parts[0].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let header = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let algorithm = header["alg"] as? String
        else { throw TokenRejected("unreadable JWT header") }
        return algorithm
    }
}
