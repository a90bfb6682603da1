import Foundation
import MTProto
import MTProtoCrypto
import TelegramAPI

/// Login by QR code (core.telegram.org/api/qr-login): auth.exportLoginToken hands the waiting key
/// a token (`configuration.loginTokenLifetime` seconds, 30 by default) to show as
/// `tg://login?token=<base64url>`; a logged-in app accepts it (auth.acceptLoginToken, or the test
/// script's `scanLoginToken`), which pushes `updateLoginToken` (as updateShort) to the waiting key;
/// its next auth.exportLoginToken answers auth.loginTokenSuccess — or auth.loginTokenMigrateTo
/// when the user lives on another DC, where auth.importLoginToken finishes — or 401
/// SESSION_PASSWORD_NEEDED for an account with 2FA (then account.getPassword/auth.checkPassword).
extension FakeTelegramWorld {
    // MARK: Scripting

    /// What the phone app does when it scans the QR code: accepts the token for `userId` and
    /// pushes updateLoginToken to the key waiting with it. False when the token is unknown,
    /// expired, already accepted, or `userId` is one of the export's except_ids.
    @discardableResult
    public func scanLoginToken(_ token: [UInt8], by userId: Int64) -> Bool {
        (try? acceptLoginToken(token, by: userId)) != nil
    }

    /// `scanLoginToken` with Telegram's reason on failure: 400 AUTH_TOKEN_INVALID (unknown),
    /// AUTH_TOKEN_EXPIRED, AUTH_TOKEN_ALREADY_ACCEPTED, AUTH_TOKEN_EXCEPTION (an except_id),
    /// USER_ID_INVALID (no such user).
    public func acceptLoginToken(_ token: [UInt8], by userId: Int64) throws {
        guard users[userId] != nil else { throw RPCError.badRequest("USER_ID_INVALID") }
        guard let index = loginTokens.firstIndex(where: { $0.bytes == token }) else { throw RPCError.badRequest("AUTH_TOKEN_INVALID") }
        guard loginTokens[index].acceptedBy == nil else { throw RPCError.badRequest("AUTH_TOKEN_ALREADY_ACCEPTED") }
        guard loginTokens[index].expires >= configuration.now() else { throw RPCError.badRequest("AUTH_TOKEN_EXPIRED") }
        guard !loginTokens[index].exceptIds.contains(userId) else { throw RPCError.badRequest("AUTH_TOKEN_EXCEPTION") }
        loginTokens[index].acceptedBy = userId
        let waiting = loginTokens[index].key
        if let dataCenter = dataCenters[waiting.dc] {
            let update = Api.Updates.updateShort(Api.Types.UpdateShort(update: .updateLoginToken(Api.Types.UpdateLoginToken()), date: now))
            outbox.yield(.push(dataCenter, waiting.key, update.serialized()))
        }
    }

    /// Login tokens exported and not accepted yet that have not expired (newest last).
    public func pendingLoginTokens() -> [[UInt8]] {
        let time = configuration.now()
        return loginTokens.filter { $0.acceptedBy == nil && $0.expires >= time }.map(\.bytes)
    }

    // MARK: Calls

    /// A new token, or — once one of this key's tokens was accepted — the login: success,
    /// loginTokenMigrateTo(home DC) or 401 SESSION_PASSWORD_NEEDED. Earlier tokens of the key
    /// stay valid until they expire (as on Telegram: a QR code being scanned while the next one
    /// is fetched still works).
    func exportLoginToken(_ request: Api.Functions.auth.ExportLoginToken, _ caller: Caller) throws -> Api.auth.LoginToken {
        guard request.apiId != 0, !request.apiHash.isEmpty else { throw RPCError.badRequest("API_ID_INVALID") }
        let time = configuration.now()
        loginTokens.removeAll { $0.acceptedBy == nil && $0.expires < time }
        if let accepted = loginTokens.first(where: { $0.key == caller.ref && $0.acceptedBy != nil }), let userId = accepted.acceptedBy {
            loginTokens.removeAll { $0.key == caller.ref }
            guard let user = users[userId] else { throw RPCError.badRequest("AUTH_TOKEN_INVALID") }
            if user.homeDc != caller.dc {
                let token = LoginImportToken(bytes: SecureRandom.bytes(32), userId: userId, dc: user.homeDc,
                                             expires: time + configuration.loginTokenLifetime)
                loginImports.append(token)
                return .loginTokenMigrateTo(Api.Types.auth.LoginTokenMigrateTo(dcId: user.homeDc, token: token.bytes))
            }
            return .loginTokenSuccess(Api.Types.auth.LoginTokenSuccess(authorization: try logInByToken(caller.ref, as: userId)))
        }
        let token = LoginTokenState(bytes: SecureRandom.bytes(32), key: caller.ref, expires: time + configuration.loginTokenLifetime,
                                    exceptIds: request.exceptIds)
        loginTokens.append(token)
        return .loginToken(Api.Types.auth.LoginToken(expires: Int32(token.expires.rounded(.down)), token: token.bytes))
    }

    /// The token of a loginTokenMigrateTo, on the DC it names: 400 AUTH_TOKEN_INVALID (unknown,
    /// used, or another DC), AUTH_TOKEN_EXPIRED; 401 SESSION_PASSWORD_NEEDED with 2FA.
    func importLoginToken(_ request: Api.Functions.auth.ImportLoginToken, _ caller: Caller) throws -> Api.auth.LoginToken {
        guard let index = loginImports.firstIndex(where: { $0.bytes == request.token && $0.dc == caller.dc }) else {
            throw RPCError.badRequest("AUTH_TOKEN_INVALID")
        }
        let token = loginImports.remove(at: index)
        guard token.expires >= configuration.now() else { throw RPCError.badRequest("AUTH_TOKEN_EXPIRED") }
        return .loginTokenSuccess(Api.Types.auth.LoginTokenSuccess(authorization: try logInByToken(caller.ref, as: token.userId)))
    }

    /// auth.acceptLoginToken from a logged-in key (a real client playing the phone app).
    func acceptLoginTokenCall(_ request: Api.Functions.auth.AcceptLoginToken, _ caller: Caller) throws -> Api.Authorization {
        let userId = try authorized(caller, homeOnly: false)
        try acceptLoginToken(request.token, by: userId)
        return .authorization(Api.Types.Authorization(
            hash: Int64.random(in: 1 ... .max), deviceModel: "fake", platform: "fake", systemVersion: "1", apiId: 0, appName: "fake",
            appVersion: "1", dateCreated: now, dateActive: now, ip: "127.0.0.1", country: "", region: ""))
    }

    /// Like the end of auth.signIn: 2FA first (the key then awaits auth.checkPassword), else logged in.
    private func logInByToken(_ ref: KeyRef, as userId: Int64) throws -> Api.auth.Authorization {
        if users[userId]?.password != nil {
            authorizations[ref] = nil
            revokedKeys.remove(ref)
            awaitingPassword[ref] = userId
            throw RPCError.unauthorized("SESSION_PASSWORD_NEEDED")
        }
        return logIn(ref, as: userId)
    }
}

/// A QR login token: exported by `key`, accepted (scanned) by a user or not yet.
struct LoginTokenState: Sendable {
    let bytes: [UInt8]
    let key: KeyRef
    let expires: Double
    let exceptIds: [Int64]
    var acceptedBy: Int64?
}

/// The token of an auth.loginTokenMigrateTo: logs `userId` in on DC `dc` (once).
struct LoginImportToken: Sendable {
    let bytes: [UInt8]
    let userId: Int64
    let dc: Int32
    let expires: Double
}
