import FakeDC
import Foundation
import MTProto
import Testing
import TelegramAPI
import TelegramClient

/// Login by QR code against the fake world: the phone app's scan (`scanLoginToken`) completes
/// the login; tokens are renewed before they expire; loginTokenMigrateTo; 2FA after the scan.
@Suite(.timeLimit(.minutes(2))) struct QRLoginTests {
    @Test func scanningTheCodeLogsIn() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 23001", firstName: "Alice", username: "alice")
        let (client, log) = await world.client()
        try await client.connect()
        let token = try await client.startQRLogin()
        #expect(token.url.hasPrefix("tg://login?token="))
        #expect(!token.url.contains("=") || token.url.firstIndex(of: "=") == token.url.lastIndex(of: "="), "base64url, no padding")
        #expect(abs(token.expires.timeIntervalSinceNow - 30) < 3, "tokens live 30 s")
        #expect(await client.currentQRLoginToken == token)
        let bytes = try #require(Self.tokenBytes(token.url))
        #expect(await world.world.pendingLoginTokens() == [bytes])
        #expect(await !client.isLoggedIn)

        #expect(await world.world.scanLoginToken(bytes, by: alice))
        try await eventually("the QR login completes") { await log.qrCompleted.map(\.id) == [alice] }
        #expect(await client.isLoggedIn)
        #expect(await client.user?.username == "alice")
        #expect(await client.currentQRLoginToken == nil)
        let state = await client.state
        #expect(state.userId == alice && state.homeDataCenter == 2)
        try await eventually("the logged-in state is announced") { await log.states.last?.userId == alice }
        #expect(await world.world.scanLoginToken(bytes, by: alice) == false, "a token logs in once")
        #expect(await world.calls(Api.Functions.auth.ExportLoginToken.constructorId) == 2, "the first token, then the login")
        // The session works like one logged in with a code.
        _ = try await client.dialogs(limit: 10, cursor: nil)
        await client.disconnect()
        await world.stop()
    }

    @Test func tokensAreRenewedBeforeTheyExpire() async throws {
        // 6 s tokens: the client renews a quarter of the remaining life early (1.25–1.5 s here),
        // a margin the timing check below keeps under a loaded CI (1.5 s tokens left ~0.6 s).
        let world = try await TestWorld.start { $0.loginTokenLifetime = 6 }
        let bob = try await world.world.addUser(phone: "99966 23002", firstName: "Bob")
        let (client, log) = await world.client()
        let first = try await client.startQRLogin()  // connects on its own
        let firstBytes = try #require(Self.tokenBytes(first.url))
        try await eventually("two renewals", timeout: .seconds(16)) { await log.qrTokens.count >= 2 }
        let renewed = await log.qrTokens
        #expect(renewed[0].url != first.url && renewed[1].url != renewed[0].url)
        #expect(renewed[0].expires > first.expires && renewed[0].expires.timeIntervalSince(first.expires) < 6,
                "renewed before the previous one expired")
        // The first code has expired by now: scanning it does nothing.
        try await Task.sleep(for: .milliseconds(max(0, Int(first.expires.timeIntervalSinceNow * 1000)) + 300))
        await #expect(throws: RPCError.self) { try await world.world.acceptLoginToken(firstBytes, by: bob) }
        #expect(await world.world.scanLoginToken(firstBytes, by: bob) == false)
        #expect(await !client.isLoggedIn)
        // The code on screen works.
        let current = try #require(await client.currentQRLoginToken)
        #expect(await world.world.scanLoginToken(try #require(Self.tokenBytes(current.url)), by: bob))
        try await eventually("the QR login completes") { await log.qrCompleted.map(\.id) == [bob] }
        #expect(await client.isLoggedIn)
        // Renewal stops with the login.
        let renewals = await log.qrTokens.count
        try await Task.sleep(for: .seconds(2))
        #expect(await log.qrTokens.count == renewals)
        await client.disconnect()
        await world.stop()
    }

    @Test func anExpiredTokenCannotBeScanned() async throws {
        let world = try await TestWorld.start { $0.loginTokenLifetime = 0.6 }
        let carol = try await world.world.addUser(phone: "99966 23003", firstName: "Carol")
        let (client, log) = await world.client()
        let token = try await client.startQRLogin()
        await client.cancelQRLogin()  // nobody renews it
        let bytes = try #require(Self.tokenBytes(token.url))
        try await Task.sleep(for: .milliseconds(900))
        do {
            try await world.world.acceptLoginToken(bytes, by: carol)
            Issue.record("an expired token was accepted")
        } catch let error as RPCError {
            #expect(error.message == "AUTH_TOKEN_EXPIRED" || error.message == "AUTH_TOKEN_INVALID")
        }
        #expect(await world.world.pendingLoginTokens().isEmpty)
        try await Task.sleep(for: .milliseconds(300))
        #expect(await log.qrTokens.isEmpty, "a cancelled QR login is not renewed")
        #expect(await !client.isLoggedIn)

        // A cancelled login ignores a scan of its (still valid) code.
        let again = try await client.startQRLogin()
        await client.cancelQRLogin()
        #expect(await world.world.scanLoginToken(try #require(Self.tokenBytes(again.url)), by: carol))
        try await Task.sleep(for: .milliseconds(300))
        #expect(await !client.isLoggedIn)
        #expect(await log.qrCompleted.isEmpty)
        await client.disconnect()
        await world.stop()
    }

    @Test func anAccountOnAnotherDataCenterIsImportedThere() async throws {
        let world = try await TestWorld.start(dataCenters: [2, 4])
        let dave = try await world.world.addUser(phone: "99966 23004", firstName: "Dave", homeDc: 4)
        let (client, log) = await world.client(initialDataCenter: 2)
        let token = try await client.startQRLogin()
        #expect(await world.world.scanLoginToken(try #require(Self.tokenBytes(token.url)), by: dave))
        try await eventually("the QR login completes") { await log.qrCompleted.map(\.id) == [dave] }
        let state = await client.state
        #expect(state.userId == dave && state.homeDataCenter == 4)
        #expect(Set(state.dataCenters.keys) == [2, 4])
        #expect(await world.world.authorizedUser(dcId: 4, authKeyId: try #require(Self.keyId(state.dataCenters[4]))) == dave)
        #expect(await world.calls(Api.Functions.auth.ImportLoginToken.constructorId, on: 4) == 1)
        #expect(await world.calls(Api.Functions.auth.ExportLoginToken.constructorId, on: 4) == 0)
        _ = try await client.dialogs(limit: 10, cursor: nil)
        #expect(await world.calls(Api.Functions.messages.GetDialogs.constructorId, on: 4) == 1)
        try await eventually("the migrated state is announced") { await log.states.last?.homeDataCenter == 4 }
        await client.disconnect()
        await world.stop()
    }

    @Test func twoStepVerificationAfterTheScan() async throws {
        let world = try await TestWorld.start()
        let erin = try await world.world.addUser(phone: "99966 23005", firstName: "Erin", password: "correct horse", passwordHint: "horse")
        let (client, log) = await world.client()
        let token = try await client.startQRLogin()
        #expect(await world.world.scanLoginToken(try #require(Self.tokenBytes(token.url)), by: erin))
        try await eventually("the password is asked for") { await log.qrPasswordHints == ["horse"] }
        #expect(await !client.isLoggedIn)
        #expect(await log.qrCompleted.isEmpty)
        await #expect(throws: TelegramClientError.passwordInvalid) { try await client.checkPassword("wrong") }
        guard case .loggedIn(let user) = try await client.checkPassword("correct horse") else { Issue.record("not logged in"); return }
        #expect(user.id == erin)
        #expect(await client.isLoggedIn)
        #expect(await client.state.userId == erin)
        await client.disconnect()
        await world.stop()
    }

    @Test func twoStepVerificationOnAnotherDataCenter() async throws {
        let world = try await TestWorld.start(dataCenters: [2, 4])
        let frank = try await world.world.addUser(phone: "99966 23006", firstName: "Frank", password: "pw", homeDc: 4)
        let (client, log) = await world.client()
        let token = try await client.startQRLogin()
        #expect(await world.world.scanLoginToken(try #require(Self.tokenBytes(token.url)), by: frank))
        try await eventually("the password is asked for") { await log.qrPasswordHints.count == 1 }
        #expect(await client.state.homeDataCenter == 4)
        guard case .loggedIn(let user) = try await client.checkPassword("pw") else { Issue.record("not logged in"); return }
        #expect(user.id == frank)
        #expect(await world.calls(Api.Functions.auth.CheckPassword.constructorId, on: 4) == 1)
        await client.disconnect()
        await world.stop()
    }

    @Test func exceptIdsAndWrongTokensAreRefused() async throws {
        let world = try await TestWorld.start()
        let gina = try await world.world.addUser(phone: "99966 23007", firstName: "Gina")
        let hal = try await world.world.addUser(phone: "99966 23008", firstName: "Hal")
        let (client, log) = await world.client()
        let token = try await client.startQRLogin(exceptIds: [gina])
        let bytes = try #require(Self.tokenBytes(token.url))
        #expect(await world.world.scanLoginToken(bytes, by: gina) == false, "gina is already logged in in this app")
        #expect(await world.world.scanLoginToken([1, 2, 3], by: hal) == false)
        #expect(await world.world.scanLoginToken(bytes, by: 42) == false, "no such user")
        #expect(await world.world.scanLoginToken(bytes, by: hal))
        try await eventually("the QR login completes") { await log.qrCompleted.map(\.id) == [hal] }
        await #expect(throws: TelegramClientError.invalidState("already logged in")) { try await client.startQRLogin() }
        await client.disconnect()
        await world.stop()
    }

    @Test func aCodeLoginCanFollowACancelledQRLogin() async throws {
        let world = try await TestWorld.start()
        let ivy = try await world.world.addUser(phone: "99966 23009", firstName: "Ivy")
        let (client, log) = await world.client()
        _ = try await client.startQRLogin()
        _ = try await client.sendCode(phone: "99966 23009")  // abandons the QR login
        #expect(await client.currentQRLoginToken == nil)
        let code = try #require(await world.world.codeFor(phone: "99966 23009"))
        guard case .loggedIn(let user) = try await client.signIn(code: code) else { Issue.record("not logged in"); return }
        #expect(user.id == ivy)
        #expect(await log.qrCompleted.isEmpty)
        await client.disconnect()
        await world.stop()
    }

    // MARK: Helpers

    /// The token of a `tg://login?token=<base64url>` URL.
    static func tokenBytes(_ url: String) -> [UInt8]? {
        guard let range = url.range(of: "tg://login?token=") else { return nil }
        var text = url[range.upperBound...].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text).map { Array($0) }
    }

    /// The auth key id (low 64 bits of SHA-1 of the key) of a stored authorization.
    static func keyId(_ stored: StoredAuthorization?) -> Int64? {
        stored.flatMap { AuthKey(Array($0.authKey))?.id }
    }
}

extension EventLog {
    var qrTokens: [QRLoginToken] {
        events.compactMap { if case .qrLoginToken(let url, let expires) = $0 { QRLoginToken(url: url, expires: expires) } else { nil } }
    }

    var qrCompleted: [TelegramUser] {
        events.compactMap { if case .qrLoginCompleted(let user) = $0 { user } else { nil } }
    }

    var qrPasswordHints: [String?] {
        events.compactMap { if case .qrLoginPasswordRequired(let hint) = $0 { .some(hint) } else { nil } }
    }
}
