import Foundation
import GatewayModel

/// An account login driven from a terminal (`gateway telegram login`): the same path as the REST
/// API's connect → code → password, acting as an admin of `organizationId`.
public struct TerminalLogin: Sendable {
    let service: AccountService
    let caller: Principal

    public init(gateway: Gateway, organizationId: String) {
        service = AccountService(store: gateway.store, accounts: gateway.accounts, plugins: gateway.plugins)
        caller = Principal(userId: "gateway-cli", organizationId: organizationId, email: nil, role: "admin")
    }

    public func connect(platform: String, phoneNumber: String, apiId: Int?, apiHash: String?) async throws -> Account {
        let body = AccountService.ConnectBody(platform: platform, phoneNumber: phoneNumber, apiId: apiId, apiHash: apiHash)
        return try await service.connect(body, by: caller).0
    }

    public func submitCode(_ code: String, account: String) async throws -> Account {
        try await service.submitCode(code, account: account, by: caller)
    }

    public func submitPassword(_ password: String, account: String) async throws -> Account {
        try await service.submitPassword(password, account: account, by: caller)
    }

    /// The text an API client would see for a failure: the error code and message.
    public static func describe(_ error: Error) -> String {
        guard let error = error as? APIError else { return "\(error)" }
        return "\(error.code): \(error.message)"
    }
}
