import FakeDC
import Foundation
import MTProto
import Testing
import TelegramAPI
import TelegramClient

/// Dialogs, sending, read receipts, FLOOD_WAIT against the fake world.
@Suite(.timeLimit(.minutes(3))) struct MessagingTests {
    @Test func dialogsArePagedWithoutDuplicatesOrGaps() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 31000", firstName: "Alice")
        var expected: Set<String> = []
        var lastFriend: Int64 = 0
        for index in 0..<120 {
            let friend = try await world.world.addUser(phone: "99966 4\(String(format: "%04d", index))", firstName: "Friend \(index)")
            await world.world.deliverMessage(from: friend, to: alice, text: "hello \(index)")
            expected.insert(String(friend))
            lastFriend = friend
        }
        let (client, _) = try await world.loggedIn(phone: "99966 31000")
        var seen: [String] = []
        var sizes: [Int] = []
        var cursor: String?
        repeat {
            let page = try await client.dialogs(limit: 50, cursor: cursor)
            #expect(page.totalCount == 120)
            sizes.append(page.dialogs.count)
            seen += page.dialogs.map(\.chatId)
            for dialog in page.dialogs {
                #expect(dialog.kind == .user && dialog.unreadCount == 1 && dialog.title.hasPrefix("Friend "))
                #expect(dialog.lastMessage?.text == "hello \(dialog.title.dropFirst("Friend ".count))")
                #expect(dialog.lastMessage?.outgoing == false && dialog.lastMessage?.senderId == Int64(dialog.chatId))
            }
            cursor = page.nextCursor
        } while cursor != nil && sizes.count < 10
        #expect(sizes == [50, 50, 20])
        #expect(seen.count == 120 && Set(seen) == expected)
        // Newest first: friend 119 wrote last.
        #expect(seen.first == String(lastFriend))
        await client.disconnect()
        await world.stop()
    }

    @Test func aSentMessageReachesTheRecipientAndReadReceiptsComeBack() async throws {
        let world = try await TestWorld.start()
        let alice = try await world.world.addUser(phone: "99966 32001", firstName: "Alice", lastName: "A")
        let bob = try await world.world.addUser(phone: "99966 32002", firstName: "Bob")
        await world.world.deliverMessage(from: bob, to: alice, text: "hi alice")
        let (aliceClient, aliceLog) = try await world.loggedIn(phone: "99966 32001")
        let (bobClient, bobLog) = try await world.loggedIn(phone: "99966 32002")
        _ = try await aliceClient.dialogs(limit: 20, cursor: nil)  // learns Bob's access hash

        let sent = try await aliceClient.sendMessage(chatId: String(bob), text: "hello bob", replyTo: 1, randomId: 4242)
        #expect(sent.outgoing && sent.chatId == String(bob) && sent.text == "hello bob" && sent.senderId == alice)
        #expect(sent.chatKind == .user && sent.chatTitle == "Bob" && sent.replyToId == 1)
        try await eventually("Bob receives it") { await bobLog.messages.contains { $0.text == "hello bob" } }
        let received = try #require(await bobLog.messages.first { $0.text == "hello bob" })
        #expect(received.chatId == String(alice) && !received.outgoing && received.senderId == alice)
        #expect(received.senderName == "Alice A" && received.chatKind == .user)
        #expect(await world.world.messages(of: bob).last?.text == "hello bob")

        // The same random id again: the original, not a second message.
        let again = try await aliceClient.sendMessage(chatId: String(bob), text: "hello bob", replyTo: 1, randomId: 4242)
        #expect(again == sent)

        // Bob reads it: Alice sees readOutbox for her chat with Bob.
        try await bobClient.markRead(chatId: String(alice), maxId: received.id)
        try await eventually("Alice sees the read receipt") { await aliceLog.readOutbox.contains { $0.chatId == String(bob) } }
        #expect(await aliceLog.readOutbox.last?.maxId == sent.id)
        #expect(await !aliceLog.messages.contains { $0.text == "hello bob" }, "own sends are the result, not an event")
        await aliceClient.disconnect()
        await bobClient.disconnect()
        await world.stop()
    }

    @Test func aDuplicateRandomIdAfterARestartAnswersTheOriginal() async throws {
        let world = try await TestWorld.start()
        _ = try await world.world.addUser(phone: "99966 33001", firstName: "Alice")
        let bob = try await world.world.addUser(phone: "99966 33002", firstName: "Bob")
        let alice = try await world.world.addUser(phone: "99966 33003", firstName: "Alice2")
        await world.world.deliverMessage(from: bob, to: alice, text: "hi")
        let (first, _) = try await world.loggedIn(phone: "99966 33003")
        _ = try await first.dialogs(limit: 20, cursor: nil)
        let sent = try await first.sendMessage(chatId: String(bob), text: "only once", replyTo: nil, randomId: 99)
        let saved = await first.state
        await first.disconnect()

        let (second, _) = await world.client(state: saved)
        try await second.connect()
        let again = try await second.sendMessage(chatId: String(bob), text: "only once", replyTo: nil, randomId: 99)
        #expect(again.id == sent.id && again.text == "only once")
        #expect(await world.world.messages(of: bob).filter { $0.text == "only once" }.count == 1)
        await second.disconnect()
        await world.stop()
    }

    @Test func sendingToAnUnknownPeerIsAClearError() async throws {
        let world = try await TestWorld.start()
        _ = try await world.world.addUser(phone: "99966 34001", firstName: "Alice")
        let (client, _) = try await world.loggedIn(phone: "99966 34001")
        await #expect(throws: TelegramClientError.peerInvalid("unknown user 5555 (no access hash yet)")) {
            try await client.sendMessage(chatId: "5555", text: "x", replyTo: nil, randomId: 1)
        }
        await #expect(throws: TelegramClientError.self) { try await client.sendMessage(chatId: "abc", text: "x", replyTo: nil, randomId: 2) }
        await client.disconnect()
        await world.stop()
    }

    @Test func aShortFloodWaitIsSleptOffALongOneThrown() async throws {
        let world = try await TestWorld.start()
        _ = try await world.world.addUser(phone: "99966 35001", firstName: "Alice")
        let (client, _) = try await world.loggedIn(phone: "99966 35001")
        await world.dc2.updateFaults {
            $0.error = RPCError(code: 420, message: "FLOOD_WAIT_1")
            $0.errorCount = 1
        }
        let start = ContinuousClock.now
        _ = try await client.dialogs(limit: 10, cursor: nil)
        #expect(ContinuousClock.now - start >= .seconds(1))
        #expect(await world.calls(Api.Functions.messages.GetDialogs.constructorId) == 2)

        await world.dc2.updateFaults {
            $0.error = RPCError(code: 420, message: "FLOOD_WAIT_100")
            $0.errorCount = 1
        }
        let longStart = ContinuousClock.now
        await #expect(throws: TelegramClientError.floodWait(seconds: 100)) { try await client.dialogs(limit: 10, cursor: nil) }
        #expect(ContinuousClock.now - longStart < .seconds(5))
        #expect(await client.isLoggedIn)
        await client.disconnect()
        await world.stop()
    }
}
