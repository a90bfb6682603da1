import ArgumentParser
import Foundation
import GatewayCore

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mint a development JWT (HS256) with the configured auth.jwt.secret.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "organizationId claim.")
    var org: String

    @Option(help: "sub claim (the user id).")
    var user: String

    @Option(help: "role claim (admin may connect and disconnect accounts).")
    var role = "admin"

    @Option(help: "email claim.")
    var email: String?

    @Option(help: "Lifetime in seconds.")
    var expiresIn = 86_400

    func run() async throws {
        let config = try options.load()
        guard let secret = config.auth.jwt.secret else {
            throw ValidationError("auth.jwt.secret is not set (JWT_SECRET); cannot mint an HS256 token")
        }
        let now = Date()
        let claims = TokenClaims(
            userId: user, organizationId: org, role: role, email: email, issuedAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(expiresIn)), issuer: config.auth.jwt.issuer,
            audience: config.auth.jwt.audience)
        print(try await TokenMinter.mint(claims, secret: secret))
    }
}
