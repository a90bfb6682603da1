import Foundation
import MTProto
import MTProtoCrypto
import TelegramAPI

/// Login: auth.sendCode → auth.signIn (→ 401 SESSION_PASSWORD_NEEDED → account.getPassword →
/// auth.checkPassword with SRP), auth.logOut, auth.exportAuthorization/importAuthorization.
/// A phone belongs to its user's home DC: elsewhere 303 PHONE_MIGRATE_X.
extension FakeTelegramWorld {
    func sendCode(_ request: Api.Functions.auth.SendCode, _ caller: Caller) throws -> Api.auth.SentCode {
        guard request.apiId != 0, !request.apiHash.isEmpty else { throw RPCError.badRequest("API_ID_INVALID") }
        guard let phone = Self.normalize(phone: request.phoneNumber) else { throw RPCError.badRequest("PHONE_NUMBER_INVALID") }
        if let userId = usersByPhone[phone] {
            let home = users[userId]!.homeDc
            if home != caller.dc { throw RPCError.seeOther("PHONE_MIGRATE_\(home)") }
        } else if configuration.unknownPhone == .invalid {
            throw RPCError.badRequest("PHONE_NUMBER_INVALID")
        }
        let code = configuration.fixedLoginCode ?? String(format: "%05d", Int.random(in: 0..<100_000))
        let hash = SecureRandom.bytes(9).map { String(format: "%02x", $0) }.joined()
        pendingCodes[hash] = PendingCode(phone: phone, code: code, created: configuration.now())
        lastCodes[phone] = code
        return .sentCode(Api.Types.auth.SentCode(type: .sentCodeTypeApp(Api.Types.auth.SentCodeTypeApp(length: Int32(code.count))),
                                                 phoneCodeHash: hash))
    }

    /// 400 PHONE_CODE_EMPTY / PHONE_CODE_HASH_EMPTY / PHONE_CODE_EXPIRED (unknown, used or old hash) /
    /// PHONE_CODE_INVALID; 303 PHONE_MIGRATE_X off the home DC; 401 SESSION_PASSWORD_NEEDED with 2FA.
    func signIn(_ request: Api.Functions.auth.SignIn, _ caller: Caller) throws -> Api.auth.Authorization {
        guard let phone = Self.normalize(phone: request.phoneNumber) else { throw RPCError.badRequest("PHONE_NUMBER_INVALID") }
        guard !request.phoneCodeHash.isEmpty else { throw RPCError.badRequest("PHONE_CODE_HASH_EMPTY") }
        guard let code = request.phoneCode, !code.isEmpty else { throw RPCError.badRequest("PHONE_CODE_EMPTY") }
        guard let pending = pendingCodes[request.phoneCodeHash], pending.phone == phone else {
            throw RPCError.badRequest("PHONE_CODE_EXPIRED")
        }
        guard configuration.now() - pending.created <= configuration.codeLifetime else {
            pendingCodes[request.phoneCodeHash] = nil
            throw RPCError.badRequest("PHONE_CODE_EXPIRED")
        }
        guard code == pending.code else { throw RPCError.badRequest("PHONE_CODE_INVALID") }
        guard let userId = usersByPhone[phone] else {
            pendingCodes[request.phoneCodeHash] = nil
            return .authorizationSignUpRequired(Api.Types.auth.AuthorizationSignUpRequired())
        }
        let home = users[userId]!.homeDc
        if home != caller.dc { throw RPCError.seeOther("PHONE_MIGRATE_\(home)") }
        pendingCodes[request.phoneCodeHash] = nil
        if users[userId]!.password != nil {
            authorizations[caller.ref] = nil
            revokedKeys.remove(caller.ref)
            awaitingPassword[caller.ref] = userId
            throw RPCError.unauthorized("SESSION_PASSWORD_NEEDED")
        }
        return logIn(caller.ref, as: userId)
    }

    /// The user a key is logging in as (after SESSION_PASSWORD_NEEDED) or is logged in as.
    private func passwordOwner(_ caller: Caller) throws -> Int64 {
        if let userId = awaitingPassword[caller.ref] { return userId }
        return try authorized(caller, homeOnly: false)
    }

    /// account.password: with 2FA the current SRP parameters and a fresh srp_B/srp_id (each call).
    func getPassword(_ caller: Caller) throws -> Api.account.Password {
        let userId = try passwordOwner(caller)
        let prime = DiffieHellman.telegramPrime
        let newAlgo = Api.PasswordKdfAlgo.passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            Api.Types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(salt1: SecureRandom.bytes(8), salt2: SecureRandom.bytes(16),
                                                                                     g: 3, p: prime))
        let newSecureAlgo = Api.SecurePasswordKdfAlgo.securePasswordKdfAlgoPBKDF2HMACSHA512iter100000(
            Api.Types.SecurePasswordKdfAlgoPBKDF2HMACSHA512iter100000(salt: SecureRandom.bytes(8)))
        guard let password = users[userId]!.password else {
            return .password(Api.Types.account.Password(newAlgo: newAlgo, newSecureAlgo: newSecureAlgo, secureRandom: SecureRandom.bytes(32)))
        }
        let session = try SRP.ServerSession(verifier: password.verifier, g: 3, p: prime, salt1: password.salt1, salt2: password.salt2)
        let srpId = Int64.random(in: 1 ... .max)
        users[userId]!.password!.exchange = (srpId, session)
        let current = Api.PasswordKdfAlgo.passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            Api.Types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(salt1: password.salt1, salt2: password.salt2,
                                                                                     g: 3, p: prime))
        return .password(Api.Types.account.Password(
            hasPassword: true, currentAlgo: current, srpB: session.srpB, srpId: srpId, hint: password.hint,
            newAlgo: newAlgo, newSecureAlgo: newSecureAlgo, secureRandom: SecureRandom.bytes(32)))
    }

    /// 400 SRP_ID_INVALID (not the last getPassword's srp_id), 400 PASSWORD_HASH_INVALID (wrong password).
    func checkPassword(_ request: Api.Functions.auth.CheckPassword, _ caller: Caller) throws -> Api.auth.Authorization {
        let userId = try passwordOwner(caller)
        guard case .inputCheckPasswordSRP(let answer) = request.password, let password = users[userId]!.password else {
            throw RPCError.badRequest("PASSWORD_HASH_INVALID")
        }
        guard let exchange = password.exchange, exchange.id == answer.srpId else { throw RPCError.badRequest("SRP_ID_INVALID") }
        guard exchange.session.check(a: answer.a, m1: answer.m1) else { throw RPCError.badRequest("PASSWORD_HASH_INVALID") }
        users[userId]!.password!.exchange = nil
        return logIn(caller.ref, as: userId)
    }

    func logIn(_ ref: KeyRef, as userId: Int64) -> Api.auth.Authorization {
        awaitingPassword[ref] = nil
        revokedKeys.remove(ref)
        authorizations[ref] = userId
        return .authorization(Api.Types.auth.Authorization(user: renderUser(userId, for: userId)))
    }

    func logOut(_ caller: Caller) throws -> Api.auth.LoggedOut {
        _ = try authorized(caller, homeOnly: false)
        authorizations[caller.ref] = nil
        return .loggedOut(Api.Types.auth.LoggedOut())
    }

    /// A one-time token to log the same user in on DC `dcId` (400 DC_ID_INVALID for an unknown DC).
    func exportAuthorization(_ request: Api.Functions.auth.ExportAuthorization, _ caller: Caller) throws -> Api.auth.ExportedAuthorization {
        let userId = try authorized(caller, homeOnly: false)
        guard dataCenters[request.dcId] != nil, request.dcId != caller.dc else { throw RPCError.badRequest("DC_ID_INVALID") }
        let token = ExportedToken(userId: userId, dc: request.dcId, bytes: SecureRandom.bytes(128))
        exportedTokens.append(token)
        return .exportedAuthorization(Api.Types.auth.ExportedAuthorization(id: userId, bytes: token.bytes))
    }

    /// 400 AUTH_BYTES_INVALID unless the bytes were exported for this DC (and not used yet).
    func importAuthorization(_ request: Api.Functions.auth.ImportAuthorization, _ caller: Caller) throws -> Api.auth.Authorization {
        guard let index = exportedTokens.firstIndex(where: { $0.userId == request.id && $0.bytes == request.bytes && $0.dc == caller.dc }) else {
            throw RPCError.badRequest("AUTH_BYTES_INVALID")
        }
        let token = exportedTokens.remove(at: index)
        return logIn(caller.ref, as: token.userId)
    }
}
