import FakeDC
import MTProto
import Testing
import TelegramAPI
import TelegramClient

/// Login against the fake world: code, 2FA, retries after wrong input, PHONE_MIGRATE.
@Suite(.timeLimit(.minutes(2))) struct LoginTests {
    @Test func loginWithACode() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "+999 66 2 1001", firstName: "Alice", username: "alice")
        let (client, log) = await world.client()
        try await client.connect()
        #expect(await !client.isLoggedIn)
        let step = try await client.sendCode(phone: "+999 66 2 1001")
        #expect(step == .codeSent(codeLength: 5, nextType: nil))
        let code = try #require(await world.world.codeFor(phone: "+999 66 2 1001"))
        guard case .loggedIn(let user) = try await client.signIn(code: code) else { Issue.record("not logged in"); return }
        #expect(user.id == alice && user.firstName == "Alice" && user.username == "alice")
        #expect(await client.isLoggedIn)
        #expect(await client.user?.id == alice)
        let state = await client.state
        #expect(state.userId == alice && state.homeDataCenter == 2 && state.dataCenters[2] != nil)
        #expect(state.updateState?.pts == 0, "a fresh account: updates.getState answers pts 0")
        try await eventually("the state is announced") { await log.states.last?.userId == alice }
        // The first call of the connection carries invokeWithLayer(201, initConnection(api_id)).
        let first = try #require(await world.dc2.calls.first)
        #expect(first.layer == 201 && first.apiId == 12345 && first.constructorId == Api.Functions.help.GetConfig.constructorId)
        await client.disconnect()
        await world.stop()
    }

    @Test func loginWithTwoStepVerification() async throws {
        let world = try await TestWorld.start()
        let bob = try await world.world.addUser(phone: "99966 21002", firstName: "Bob", password: "correct horse", passwordHint: "horse")
        let (client, _) = await world.client()
        _ = try await client.sendCode(phone: "99966 21002")  // connects on its own
        let code = try #require(await world.world.codeFor(phone: "99966 21002"))
        #expect(try await client.signIn(code: code) == .passwordRequired(hint: "horse"))
        #expect(await !client.isLoggedIn)
        guard case .loggedIn(let user) = try await client.checkPassword("correct horse") else { Issue.record("not logged in"); return }
        #expect(user.id == bob)
        #expect(await client.isLoggedIn)
        await client.disconnect()
        await world.stop()
    }

    @Test func aWrongCodeCanBeRetried() async throws {
        let world = try await TestWorld.start()
        let carol = try await world.world.addUser(phone: "99966 21003", firstName: "Carol")
        let (client, _) = await world.client()
        try await client.connect()
        _ = try await client.sendCode(phone: "99966 21003")
        let code = try #require(await world.world.codeFor(phone: "99966 21003"))
        let wrong = code == "00000" ? "11111" : "00000"
        await #expect(throws: TelegramClientError.phoneCodeInvalid) { try await client.signIn(code: wrong) }
        #expect(await !client.isLoggedIn)
        guard case .loggedIn(let user) = try await client.signIn(code: code) else { Issue.record("not logged in"); return }
        #expect(user.id == carol)
        await client.disconnect()
        await world.stop()
    }

    @Test func aWrongPasswordCanBeRetried() async throws {
        let world = try await TestWorld.start()
        let dave = try await world.world.addUser(phone: "99966 21004", firstName: "Dave", password: "s3cret")
        let (client, _) = await world.client()
        try await client.connect()
        _ = try await client.sendCode(phone: "99966 21004")
        let code = try #require(await world.world.codeFor(phone: "99966 21004"))
        #expect(try await client.signIn(code: code) == .passwordRequired(hint: nil))
        await #expect(throws: TelegramClientError.passwordInvalid) { try await client.checkPassword("wrong") }
        await #expect(throws: TelegramClientError.passwordRequired) { try await client.signIn(code: code) }
        guard case .loggedIn(let user) = try await client.checkPassword("s3cret") else { Issue.record("not logged in"); return }
        #expect(user.id == dave)
        await client.disconnect()
        await world.stop()
    }

    @Test func anUnknownNumberIsInvalid() async throws {
        let world = try await TestWorld.start()
        let (client, _) = await world.client()
        try await client.connect()
        await #expect(throws: TelegramClientError.phoneNumberInvalid) { try await client.sendCode(phone: "99966 29999") }
        await #expect(throws: TelegramClientError.invalidState("no login code was sent: call sendCode first")) {
            try await client.signIn(code: "12345")
        }
        await #expect(throws: TelegramClientError.notLoggedIn) { try await client.dialogs(limit: 10, cursor: nil) }
        await client.disconnect()
        await world.stop()
    }

    @Test func phoneMigrateMovesTheHomeDataCenter() async throws {
        let world = try await TestWorld.start(dataCenters: [1, 2])
        let erin = try await world.world.addUser(phone: "99966 21005", firstName: "Erin", homeDc: 1)
        let (client, log) = await world.client(initialDataCenter: 2)
        try await client.connect()
        #expect(try await client.sendCode(phone: "99966 21005") == .codeSent(codeLength: 5, nextType: nil))
        var state = await client.state
        #expect(state.homeDataCenter == 1)
        #expect(Set(state.dataCenters.keys) == [1, 2], "the key with DC 2 is kept, a new one made with DC 1")
        let code = try #require(await world.world.codeFor(phone: "99966 21005"))
        guard case .loggedIn(let user) = try await client.signIn(code: code) else { Issue.record("not logged in"); return }
        #expect(user.id == erin)
        _ = try await client.dialogs(limit: 10, cursor: nil)
        #expect(await world.calls(Api.Functions.messages.GetDialogs.constructorId, on: 1) == 1)
        #expect(await world.calls(Api.Functions.auth.SendCode.constructorId, on: 2) == 1)
        #expect(await world.calls(Api.Functions.auth.SendCode.constructorId, on: 1) == 1)
        state = await client.state
        #expect(state.userId == erin && state.homeDataCenter == 1)
        try await eventually("the migrated state is announced") { await log.states.last?.homeDataCenter == 1 }
        await client.disconnect()
        await world.stop()
    }

    @Test func logOutThenLogInAgain() async throws {
        let world = try await TestWorld.start()
        let frank = try await world.world.addUser(phone: "99966 21006", firstName: "Frank")
        let (client, log) = try await world.loggedIn(phone: "99966 21006")
        try await client.logOut()
        #expect(await !client.isLoggedIn)
        let state = await client.state
        #expect(state.userId == nil && state.updateState == nil && state.dataCenters[2] != nil)
        try await eventually("the logged-out state is announced") { await log.states.last?.userId == nil }
        #expect(await log.loggedOutReasons.isEmpty, "an explicit logout is not an authorization loss")
        _ = try await client.sendCode(phone: "99966 21006")
        let code = try #require(await world.world.codeFor(phone: "99966 21006"))
        guard case .loggedIn(let user) = try await client.signIn(code: code) else { Issue.record("not logged in"); return }
        #expect(user.id == frank)
        await client.disconnect()
        await world.stop()
    }

    @Test func aDuplicatedAuthKeyLogsOut() async throws {
        let world = try await TestWorld.start()
        _ = try await world.world.addUser(phone: "99966 21007", firstName: "Gina")
        let (client, log) = try await world.loggedIn(phone: "99966 21007")
        await world.dc2.updateFaults {
            $0.error = RPCError(code: 406, message: "AUTH_KEY_DUPLICATED")
            $0.errorCount = 1
        }
        await #expect(throws: TelegramClientError.loggedOut("AUTH_KEY_DUPLICATED")) { try await client.dialogs(limit: 5, cursor: nil) }
        try await eventually("the logged-out event") { await log.loggedOutReasons == ["AUTH_KEY_DUPLICATED"] }
        #expect(await client.state.dataCenters[2] == nil, "a duplicated key is never used again")
        await client.disconnect()
        await world.stop()
    }
}
