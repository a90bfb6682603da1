import FakeDC
import Foundation
import Testing
import TelegramAPI
import TelegramClient

/// Updates end to end: pushes, gaps, resuming from a saved state, reconnects, revoked sessions.
@Suite(.timeLimit(.minutes(3))) struct UpdatesTests {
    @Test func pushedMessagesArriveExactlyOnceInOrder() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 51001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 51002", firstName: "Bob", username: "bob")
        let (client, log) = try await world.loggedIn(phone: "99966 51001")
        for index in 0..<20 { await world.world.deliverMessage(from: bob, to: alice, text: "n\(index)") }
        try await eventually("20 messages") { await log.messages.count >= 20 }
        try await Task.sleep(for: .milliseconds(400))
        let messages = await log.messages
        #expect(messages.map(\.text) == (0..<20).map { "n\($0)" })
        #expect(messages.map(\.id) == messages.map(\.id).sorted() && Set(messages.map(\.id)).count == 20)
        #expect(messages.allSatisfy { $0.chatId == String(bob) && $0.senderId == bob && !$0.outgoing && $0.senderName == "Bob" })
        #expect(await world.calls(Api.Functions.updates.GetDifference.constructorId) == 0, "no gap, no difference")
        // The state is announced after the messages and covers them.
        let worldPts = try #require(await world.world.updateState(of: alice)?.pts)
        try await eventually("the state covers the messages") { await log.states.last?.updateState?.pts == worldPts }
        // Each announced pts comes after the messages it covers (a fresh account: one pts per message).
        let events = await log.events
        var emitted: Int32 = 0
        for event in events {
            switch event {
            case .newMessage: emitted += 1
            case .stateChanged(let state): #expect((state.updateState?.pts ?? 0) <= emitted)
            default: break
            }
        }
        // Bob's user came with the first message: his access hash is known, so Alice can answer.
        _ = try await client.sendMessage(chatId: String(bob), text: "got them", replyTo: nil, randomId: 7)
        await client.disconnect()
        await world.stop()
    }

    @Test func withheldUpdatesAreRecoveredByGetDifferenceInOrder() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 52001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 52002", firstName: "Bob")
        let (client, log) = try await world.loggedIn(phone: "99966 52001")
        await world.world.deliverMessage(from: bob, to: alice, text: "first")
        try await eventually("the first message") { await log.messages.count == 1 }
        await world.world.withholdUpdates(alice, true)
        for index in 0..<3 { await world.world.deliverMessage(from: bob, to: alice, text: "withheld \(index)") }
        await world.world.withholdUpdates(alice, false)
        await world.world.deliverMessage(from: bob, to: alice, text: "last")
        try await eventually("all five") { await log.messages.count >= 5 }
        try await Task.sleep(for: .milliseconds(400))
        #expect(await log.messages.map(\.text) == ["first", "withheld 0", "withheld 1", "withheld 2", "last"])
        #expect(await world.calls(Api.Functions.updates.GetDifference.constructorId) >= 1)
        await client.disconnect()
        await world.stop()
    }

    @Test func aRestartResumesFromTheSavedStateWithoutLoggingIn() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 53001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 53002", firstName: "Bob")
        let (first, firstLog) = try await world.loggedIn(phone: "99966 53001")
        await world.world.deliverMessage(from: bob, to: alice, text: "before")
        let ptsBefore = try #require(await world.world.updateState(of: alice)?.pts)
        try await eventually("the message and its state") {
            let count = await firstLog.messages.count
            let pts = await firstLog.states.last?.updateState?.pts
            return count == 1 && pts == ptsBefore
        }
        let saved = try #require(await firstLog.states.last)
        await first.disconnect()
        for index in 0..<3 { await world.world.deliverMessage(from: bob, to: alice, text: "away \(index)") }

        let handshakes = await world.dc2.handshakes
        let sendCodes = await world.calls(Api.Functions.auth.SendCode.constructorId)
        let (second, secondLog) = await world.client(state: saved)
        #expect(await second.isLoggedIn)
        #expect(await second.user?.id == alice)
        try await second.connect()
        try await eventually("the messages sent while away") { await secondLog.messages.count >= 3 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await secondLog.messages.map(\.text) == ["away 0", "away 1", "away 2"])
        #expect(await world.dc2.handshakes == handshakes, "the saved key is reused")
        #expect(await world.calls(Api.Functions.auth.SendCode.constructorId) == sendCodes)
        let ptsNow = try #require(await world.world.updateState(of: alice)?.pts)
        try await eventually("the resumed state is announced") { await secondLog.states.last?.updateState?.pts == ptsNow }
        // Pushes keep coming on the resumed client.
        await world.world.deliverMessage(from: bob, to: alice, text: "live")
        try await eventually("a live message") { await secondLog.messages.last?.text == "live" }
        await second.disconnect()
        await world.stop()
    }

    @Test func aDroppedConnectionReconnectsAndCatchesUp() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 54001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 54002", firstName: "Bob")
        let (client, log) = try await world.loggedIn(phone: "99966 54001")
        await world.world.deliverMessage(from: bob, to: alice, text: "one")
        try await eventually("one") { await log.messages.count == 1 }
        await world.dc2.dropAllConnections()
        // Pushed while the link is down: lost on the wire, recovered by getDifference after the reconnect.
        await world.world.deliverMessage(from: bob, to: alice, text: "two")
        await world.world.deliverMessage(from: bob, to: alice, text: "three")
        try await eventually("all three") { await log.messages.count >= 3 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await log.messages.map(\.text) == ["one", "two", "three"])
        #expect(await log.connectionChanges.contains(.reconnecting))
        #expect(await log.connectionChanges.last == .connected)
        await client.disconnect()
        await world.stop()
    }

    @Test func aRevokedSessionLogsOutAndIsNotRetried() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 55001", firstName: "Alice")
        let (client, log) = try await world.loggedIn(phone: "99966 55001")
        await world.world.revokeSessions(userId: alice)
        await #expect(throws: TelegramClientError.loggedOut("SESSION_REVOKED")) { try await client.dialogs(limit: 10, cursor: nil) }
        try await eventually("the logged-out event") { await log.loggedOutReasons == ["SESSION_REVOKED"] }
        #expect(await !client.isLoggedIn)
        #expect(await client.user == nil)
        let state = await client.state
        #expect(state.userId == nil && state.updateState != nil, "the rest of the state is kept")
        try await eventually("the cleared state is announced") { await log.states.last?.userId == nil }
        await #expect(throws: TelegramClientError.notLoggedIn) { try await client.dialogs(limit: 10, cursor: nil) }
        let calls = await world.dc2.calls.count
        try await Task.sleep(for: .milliseconds(700))
        #expect(await world.dc2.calls.count == calls, "nothing is retried")
        #expect(await log.loggedOutReasons.count == 1)
        await client.disconnect()
        await world.stop()
    }

    @Test func aRevokedSessionIsNoticedAfterAReconnect() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 56001", firstName: "Alice")
        let (client, log) = try await world.loggedIn(phone: "99966 56001")
        await world.world.revokeSessions(userId: alice)
        await world.dc2.dropAllConnections()
        try await eventually("logged out") { await log.loggedOutReasons == ["SESSION_REVOKED"] }
        #expect(await !client.isLoggedIn)
        await client.disconnect()
        await world.stop()
    }

    @Test func groupMessagesAndChannelPostsArriveWithTheirChats() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 57001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 57002", firstName: "Bob")
        let (client, log) = try await world.loggedIn(phone: "99966 57001")
        let group = await world.world.createGroup(title: "Friends", members: [bob, alice])
        await world.world.deliverGroupMessage(from: bob, to: group, text: "in the group")
        let channel = await world.world.createChannel(title: "News", megagroup: true, members: [bob, alice])
        await world.world.deliverGroupMessage(from: bob, to: channel, text: "in the supergroup")
        try await eventually("both") { await log.messages.count >= 2 }
        let messages = await log.messages
        let inGroup = try #require(messages.first { $0.text == "in the group" })
        #expect(inGroup.chatId == "-\(group)" && inGroup.chatKind == .group && inGroup.chatTitle == "Friends" && inGroup.senderId == bob)
        let inChannel = try #require(messages.first { $0.text == "in the supergroup" })
        #expect(inChannel.chatId == "-100\(channel)" && inChannel.chatKind == .supergroup && inChannel.chatTitle == "News")
        #expect(inChannel.senderId == bob && inChannel.senderName == "Bob")
        // Both chats can be answered.
        _ = try await client.sendMessage(chatId: "-\(group)", text: "group reply", replyTo: inGroup.id, randomId: 1)
        let post = try await client.sendMessage(chatId: "-100\(channel)", text: "channel reply", replyTo: nil, randomId: 2)
        #expect(post.chatKind == .supergroup && post.outgoing)
        try await client.markRead(chatId: "-100\(channel)", maxId: inChannel.id)
        try await Task.sleep(for: .milliseconds(300))
        #expect(await log.messages.count == 2, "own sends are not events")
        await client.disconnect()
        await world.stop()
    }

    @Test func aChannelJoinedWhileAwayIsCaughtUpOnResume() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 58001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 58002", firstName: "Bob")
        let (first, firstLog) = try await world.loggedIn(phone: "99966 58001")
        try await eventually("the login state") { await firstLog.states.last?.updateState != nil }
        await first.disconnect()
        let saved = await first.state
        // Withheld: the world counts a channel push as received unless it is withheld.
        await world.world.withholdUpdates(alice, true)
        let channel = await world.world.createChannel(title: "While away", megagroup: true, members: [bob, alice])
        await world.world.deliverGroupMessage(from: bob, to: channel, text: "posted while away")
        await world.world.withholdUpdates(alice, false)
        let (second, log) = await world.client(state: saved)
        try await second.connect()
        try await eventually("the channel message") { await log.messages.contains { $0.text == "posted while away" } }
        let message = try #require(await log.messages.first)
        #expect(message.chatId == "-100\(channel)" && message.chatTitle == "While away" && message.senderId == bob)
        #expect(await world.calls(Api.Functions.updates.GetChannelDifference.constructorId) >= 1)
        try await eventually("the channel pts is saved") { await log.states.last?.updateState?.channelPts[channel] != nil }
        await second.disconnect()
        await world.stop()
    }

    @Test func aDataCenterThatStaysDownIsRetriedPeriodically() async throws {
        let world = try await TestWorld.start(fixedPorts: true)
        let alice = try await world.world.addUser(phone: "99966 59001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 59002", firstName: "Bob")
        let (client, log) = try await world.loggedIn(phone: "99966 59001")
        await world.dc2.stop()
        try await eventually("disconnected after the sender gave up") {
            await log.connectionChanges.contains { if case .disconnected = $0 { true } else { false } }
        }
        await world.world.deliverMessage(from: bob, to: alice, text: "while down")
        _ = try await world.dc2.start()
        try await eventually("reconnected and caught up") { await log.messages.map(\.text) == ["while down"] }
        try await eventually("connected again") { await log.connectionChanges.last == .connected }
        #expect(await client.isLoggedIn)
        await client.disconnect()
        await world.stop()
    }

    @Test func resumingARevokedSessionFailsConnect() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 60001", firstName: "Alice")
        let (first, _) = try await world.loggedIn(phone: "99966 60001")
        await first.disconnect()
        let saved = await first.state
        await world.world.revokeSessions(userId: alice)
        let (second, log) = await world.client(state: saved)
        await #expect(throws: TelegramClientError.loggedOut("SESSION_REVOKED")) { try await second.connect() }
        try await eventually("the logged-out event") { await log.loggedOutReasons == ["SESSION_REVOKED"] }
        #expect(await second.state.dataCenters[2] == nil, "the dead key is dropped")
        await world.stop()
    }

    @Test func aDifferenceTooLongRefetchesRecentHistory() async throws {
        let world = try await TestWorld.start { $0.differenceTooLongAfter = 5 }
        let alice = try await world.world.addUser(phone: "99966 61001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 61002", firstName: "Bob")
        let carol = try await world.world.addUser(phone: "99966 61003", firstName: "Carol")
        let (first, _) = try await world.loggedIn(phone: "99966 61001")
        await first.disconnect()
        let saved = await first.state
        for index in 0..<8 { await world.world.deliverMessage(from: bob, to: alice, text: "bob \(index)") }
        for index in 0..<3 { await world.world.deliverMessage(from: carol, to: alice, text: "carol \(index)") }
        let (second, log) = await world.client(state: saved)
        try await second.connect()
        try await eventually("11 messages") { await log.messages.count >= 11 }
        try await Task.sleep(for: .milliseconds(300))
        let messages = await log.messages
        #expect(messages.filter { $0.chatId == String(bob) }.map(\.text) == (0..<8).map { "bob \($0)" })
        #expect(messages.filter { $0.chatId == String(carol) }.map(\.text) == (0..<3).map { "carol \($0)" })
        #expect(messages.count == 11)
        let pts = try #require(await world.world.updateState(of: alice)?.pts)
        try await eventually("the new pts is saved") { await log.states.last?.updateState?.pts == pts }
        // Live updates continue from the new pts.
        await world.world.deliverMessage(from: carol, to: alice, text: "live")
        try await eventually("live") { await log.messages.last?.text == "live" }
        await second.disconnect()
        await world.stop()
    }
}
