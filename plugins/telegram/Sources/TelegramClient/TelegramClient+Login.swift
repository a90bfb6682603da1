import Foundation
import MTProtoCrypto
import TelegramAPI

/// Login: auth.sendCode (PHONE_MIGRATE_X moves the home data center), auth.signIn
/// (SESSION_PASSWORD_NEEDED → two-step verification), auth.checkPassword (SRP), auth.logOut.
/// Every failed step can be retried: a wrong code or password leaves the login where it was.
extension TelegramClient {
    public func sendCode(phone: String) async throws -> LoginStep {
        guard !isLoggedIn else { throw TelegramClientError.invalidState("already logged in") }
        cancelQRLogin()
        try await connectIfNeeded()
        let number = phone.filter { $0.isNumber }
        guard !number.isEmpty else { throw TelegramClientError.phoneNumberInvalid }
        let sent = try await call(Api.Functions.auth.SendCode(
            phoneNumber: number, apiId: configuration.apiId, apiHash: configuration.apiHash,
            settings: .codeSettings(Api.Types.CodeSettings())))
        switch sent {
        case .sentCode(let code):
            login = PendingLogin(phone: number, phoneCodeHash: code.phoneCodeHash)
            return .codeSent(codeLength: Self.codeLength(code.type), nextType: code.nextType.map(Self.name))
        case .sentCodeSuccess(let success):
            return try await completeLogin(success.authorization)
        case .sentCodePaymentRequired:
            throw TelegramClientError.invalidState("Telegram asks for a payment before sending a login code to this number")
        }
    }

    public func signIn(code: String) async throws -> LoginStep {
        guard !isLoggedIn else { throw TelegramClientError.invalidState("already logged in") }
        guard var pending = login else { throw TelegramClientError.invalidState("no login code was sent: call sendCode first") }
        if pending.awaitingPassword { throw TelegramClientError.passwordRequired }
        let authorization: Api.auth.Authorization
        do {
            authorization = try await call(Api.Functions.auth.SignIn(
                phoneNumber: pending.phone, phoneCodeHash: pending.phoneCodeHash, phoneCode: code))
        } catch .passwordRequired {
            pending.awaitingPassword = true
            login = pending
            return .passwordRequired(hint: try? await passwordInfo().hint)
        }
        return try await completeLogin(authorization)
    }

    public func checkPassword(_ password: String) async throws -> LoginStep {
        guard !isLoggedIn else { throw TelegramClientError.invalidState("already logged in") }
        try await connectIfNeeded()
        let info = try await passwordInfo()
        guard info.hasPassword, let algorithm = info.currentAlgo, let srpB = info.srpB, let srpId = info.srpId,
              case .passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(let kdf) = algorithm else {
            throw TelegramClientError.invalidState("the account has no password, or one with an algorithm this client does not know")
        }
        let parameters = SRP.Parameters(salt1: kdf.salt1, salt2: kdf.salt2, g: kdf.g, p: kdf.p, srpB: srpB, srpId: srpId)
        // PBKDF2 with 100,000 rounds: off the actor.
        let answer: SRP.Answer
        do {
            answer = try await Task.detached { try SRP.answer(password: password, parameters: parameters) }.value
        } catch {
            throw TelegramClientError.invalidState("the server's 2FA parameters were refused: \(error)")
        }
        let authorization = try await call(Api.Functions.auth.CheckPassword(
            password: .inputCheckPasswordSRP(.init(srpId: answer.srpId, a: answer.a, m1: answer.m1))))
        return try await completeLogin(authorization)
    }

    /// auth.logOut; the auth key stays (unauthorized), the account's state is cleared.
    public func logOut() async throws {
        guard isLoggedIn else { return }
        do {
            _ = try await call(Api.Functions.auth.LogOut())
        } catch .loggedOut {
            return  // already gone; authorizationLost cleaned up
        }
        stopUpdates()
        session.userId = nil
        session.user = nil
        session.updateState = nil
        directory.peers = [:]
        login = nil
        flushState()
    }

    func connectIfNeeded() async throws {
        if sender == nil { try await connect() }
    }

    func passwordInfo() async throws(TelegramClientError) -> Api.Types.account.Password {
        guard case .password(let info) = try await call(Api.Functions.account.GetPassword()) else {
            throw .invalidState("unexpected account.getPassword answer")
        }
        return info
    }

    func completeLogin(_ authorization: Api.auth.Authorization) async throws -> LoginStep {
        switch authorization {
        case .authorizationSignUpRequired:
            login = nil
            throw TelegramClientError.invalidState("this phone number has no Telegram account: sign up in an official app first")
        case .authorization(let result):
            guard case .user(let apiUser) = result.user else {
                throw TelegramClientError.invalidState("the authorization carries no user")
            }
            let user = TelegramUser(id: apiUser.id, firstName: apiUser.firstName, lastName: apiUser.lastName,
                                    username: apiUser.username, phone: apiUser.phone)
            login = nil
            // A new login starts a new account state: fresh update sequence, peers learned anew.
            session.userId = user.id
            session.user = user
            session.updateState = nil
            directory.peers = [:]
            directory.learn(users: [result.user], chats: [])
            stopUpdates()
            flushState()
            try await startUpdatesIfNeeded()
            return .loggedIn(user)
        }
    }

    static func codeLength(_ type: Api.auth.SentCodeType) -> Int? {
        switch type {
        case .sentCodeTypeApp(let t): Int(t.length)
        case .sentCodeTypeSms(let t): Int(t.length)
        case .sentCodeTypeCall(let t): Int(t.length)
        case .sentCodeTypeMissedCall(let t): Int(t.length)
        case .sentCodeTypeEmailCode(let t): Int(t.length)
        case .sentCodeTypeFragmentSms(let t): Int(t.length)
        case .sentCodeTypeFirebaseSms(let t): Int(t.length)
        case .sentCodeTypeFlashCall, .sentCodeTypeSetUpEmailRequired, .sentCodeTypeSmsWord, .sentCodeTypeSmsPhrase: nil
        }
    }

    static func name(_ type: Api.auth.CodeType) -> String {
        switch type {
        case .codeTypeSms: "sms"
        case .codeTypeCall: "call"
        case .codeTypeFlashCall: "flashCall"
        case .codeTypeMissedCall: "missedCall"
        case .codeTypeFragmentSms: "fragmentSms"
        }
    }
}
