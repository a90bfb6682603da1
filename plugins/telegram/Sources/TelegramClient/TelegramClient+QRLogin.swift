import Foundation
import TelegramAPI

/// Login by QR code (core.telegram.org/api/qr-login): auth.exportLoginToken gives a token to show
/// as `tg://login?token=<base64url>`; it is renewed shortly before it expires
/// (`.qrLoginToken`). When the phone app accepts it, Telegram pushes updateLoginToken; the next
/// auth.exportLoginToken answers auth.loginTokenSuccess (`.qrLoginCompleted`), or
/// auth.loginTokenMigrateTo (the account lives on another DC: move there and
/// auth.importLoginToken), or SESSION_PASSWORD_NEEDED (`.qrLoginPasswordRequired`: then
/// `checkPassword` as after a code).
extension TelegramClient {
    /// Starts a QR login and returns the first token to show. Later tokens and the outcome arrive
    /// as events: `.qrLoginToken`, then `.qrLoginCompleted`, `.qrLoginPasswordRequired` or
    /// `.qrLoginFailed`. `exceptIds`: users already logged in elsewhere in this app (Telegram
    /// refuses to log them in twice). A code login in progress is abandoned; calling it again
    /// starts over.
    public func startQRLogin(exceptIds: [Int64] = []) async throws -> QRLoginToken {
        guard !isLoggedIn else { throw TelegramClientError.invalidState("already logged in") }
        cancelQRLogin()
        try await connectIfNeeded()
        login = nil
        let id = UInt64.random(in: 1 ... .max)
        qrLogin = QRLoginSession(id: id, exceptIds: exceptIds)
        qrLogin?.refreshing = true
        let answer: Api.auth.LoginToken
        do {
            answer = try await exportLoginToken(exceptIds)
        } catch {
            if qrLogin?.id == id { qrLogin = nil }
            throw error
        }
        guard qrLogin?.id == id else { throw TelegramClientError.invalidState("the QR login was cancelled") }
        qrLogin?.refreshing = false
        guard case .loginToken(let token) = answer else {
            // A token this key exported earlier was accepted meanwhile: that login completes (events).
            await handleQRAnswer(answer, id: id)
            throw TelegramClientError.invalidState("an earlier QR code of this session was accepted: see the QR login events")
        }
        let shown = showToken(token, id: id)
        if qrLogin?.recheck == true { Task { await self.refreshQRLogin(id) } }
        return shown
    }

    /// Stops renewing the QR token (a code scanned after this does not log this client in).
    public func cancelQRLogin() {
        qrLogin?.timer?.cancel()
        qrLogin = nil
    }

    /// The QR token being shown, if a QR login is waiting.
    public var currentQRLoginToken: QRLoginToken? {
        guard let qrLogin, !qrLogin.token.isEmpty else { return nil }
        return QRLoginToken(url: Self.loginURL(qrLogin.token), expires: qrLogin.expires)
    }

    /// `tg://login?token=` and the token in base64url without padding.
    public static func loginURL(_ token: [UInt8]) -> String {
        let base64url = Data(token).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "tg://login?token=" + base64url
    }

    // MARK: Driving

    /// Whether `updates` carries updateLoginToken (pushed as updateShort, or inside a container).
    static func containsLoginToken(_ updates: Api.Updates) -> Bool {
        switch updates {
        case .updateShort(let short):
            if case .updateLoginToken = short.update { return true }
        case .updates(let container):
            return container.updates.contains { if case .updateLoginToken = $0 { true } else { false } }
        case .updatesCombined(let container):
            return container.updates.contains { if case .updateLoginToken = $0 { true } else { false } }
        default:
            break
        }
        return false
    }

    /// updateLoginToken: the code was scanned; ask for the login now.
    func loginTokenAccepted() {
        guard let id = qrLogin?.id else { return }
        qrLogin?.timer?.cancel()
        qrLogin?.timer = nil
        Task { await self.refreshQRLogin(id) }
    }

    /// auth.exportLoginToken again: a new token to show, or the end of the login. Runs one at a
    /// time; an updateLoginToken arriving meanwhile runs it once more afterwards.
    func refreshQRLogin(_ id: UInt64) async {
        guard let current = qrLogin, current.id == id else { return }
        if current.refreshing {
            qrLogin?.recheck = true
            return
        }
        qrLogin?.refreshing = true
        qrLogin?.recheck = false
        do {
            let answer = try await exportLoginToken(current.exceptIds)
            guard qrLogin?.id == id else { return }
            qrLogin?.refreshing = false
            qrLogin?.failures = 0
            await handleQRAnswer(answer, id: id, announce: true)
        } catch .passwordRequired {
            guard qrLogin?.id == id else { return }
            await qrPasswordRequired()
            return
        } catch {
            guard qrLogin?.id == id else { return }
            qrLogin?.refreshing = false
            let failures = (qrLogin?.failures ?? 0) + 1
            qrLogin?.failures = failures
            guard failures < Self.qrRefreshAttempts else {
                failQRLogin(Self.describe(error))
                return
            }
            scheduleQRRefresh(id, after: .milliseconds(500 * failures))
            return
        }
        if let again = qrLogin, again.id == id, again.recheck, !again.refreshing { await refreshQRLogin(id) }
    }

    private func handleQRAnswer(_ answer: Api.auth.LoginToken, id: UInt64, announce: Bool = false) async {
        switch answer {
        case .loginToken(let token):
            let shown = showToken(token, id: id)
            if announce { eventSink.yield(.qrLoginToken(url: shown.url, expires: shown.expires)) }
        case .loginTokenSuccess(let success):
            await finishQRLogin(success.authorization)
        case .loginTokenMigrateTo(let migrate):
            // The account lives on another data center: log in there with the token it gave.
            qrLogin?.refreshing = true
            do {
                session.homeDataCenter = migrate.dcId
                try await useDataCenter(migrate.dcId)
                flushState()
                let imported = try await call(Api.Functions.auth.ImportLoginToken(token: migrate.token))
                guard qrLogin?.id == id else { return }
                guard case .loginTokenSuccess(let success) = imported else {
                    failQRLogin("auth.importLoginToken on data center \(migrate.dcId) did not log in")
                    return
                }
                await finishQRLogin(success.authorization)
            } catch TelegramClientError.passwordRequired {
                guard qrLogin?.id == id else { return }
                await qrPasswordRequired()
            } catch {
                guard qrLogin?.id == id else { return }
                failQRLogin(Self.describe(error))
            }
        }
    }

    /// Records and shows a new token, and schedules its renewal shortly before it expires.
    private func showToken(_ token: Api.Types.auth.LoginToken, id: UInt64) -> QRLoginToken {
        // `expires` is the server's Unix time; the sender's offset turns it into ours.
        let offset = senderDc.flatMap { session.dataCenters[$0]?.timeOffset } ?? 0
        let expires = Date(timeIntervalSince1970: Double(token.expires) - offset)
        qrLogin?.token = token.token
        qrLogin?.expires = expires
        let remaining = max(expires.timeIntervalSinceNow, 0)
        let lead = min(Self.qrRenewLead, remaining / 4)
        scheduleQRRefresh(id, after: .milliseconds(Int(max(remaining - lead, Self.qrMinimumRenewDelay) * 1000)))
        return QRLoginToken(url: Self.loginURL(token.token), expires: expires)
    }

    private func scheduleQRRefresh(_ id: UInt64, after delay: Duration) {
        qrLogin?.timer?.cancel()
        qrLogin?.timer = Task { [weak self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            await self?.qrTimerFired(id)
        }
    }

    /// The refresh runs in a task of its own, so cancelling the timer never cancels a login half-way.
    private func qrTimerFired(_ id: UInt64) {
        guard qrLogin?.id == id else { return }
        qrLogin?.timer = nil
        Task { await self.refreshQRLogin(id) }
    }

    private func finishQRLogin(_ authorization: Api.auth.Authorization) async {
        cancelQRLogin()
        do {
            if case .loggedIn(let user) = try await completeLogin(authorization) {
                eventSink.yield(.qrLoginCompleted(user))
            }
        } catch {
            eventSink.yield(.qrLoginFailed(reason: Self.describe(error)))
        }
    }

    private func qrPasswordRequired() async {
        cancelQRLogin()
        let hint = try? await passwordInfo().hint
        eventSink.yield(.qrLoginPasswordRequired(hint: hint))
    }

    private func failQRLogin(_ reason: String) {
        cancelQRLogin()
        eventSink.yield(.qrLoginFailed(reason: reason))
    }

    private func exportLoginToken(_ exceptIds: [Int64]) async throws(TelegramClientError) -> Api.auth.LoginToken {
        try await call(Api.Functions.auth.ExportLoginToken(apiId: configuration.apiId, apiHash: configuration.apiHash, exceptIds: exceptIds))
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case TelegramClientError.rpc(let code, let message): "\(code) \(message)"
        case TelegramClientError.connection(let detail), TelegramClientError.invalidState(let detail): detail
        default: "\(error)"
        }
    }

    /// Renew a token this long before it expires (at most a quarter of its life).
    static var qrRenewLead: Double { 2 }
    static var qrMinimumRenewDelay: Double { 0.2 }
    /// Consecutive failed renewals before the QR login gives up (`.qrLoginFailed`).
    static var qrRefreshAttempts: Int { 3 }
}

/// A QR login in progress: the token shown and its renewal.
struct QRLoginSession {
    /// Tells this login from a later one (results of a cancelled one are dropped).
    let id: UInt64
    let exceptIds: [Int64]
    var token: [UInt8] = []
    var expires: Date = .distantPast
    /// An auth.exportLoginToken (or the migration after it) is running.
    var refreshing = false
    /// updateLoginToken arrived while refreshing: ask again when that is done.
    var recheck = false
    var failures = 0
    var timer: Task<Void, Never>?
}
