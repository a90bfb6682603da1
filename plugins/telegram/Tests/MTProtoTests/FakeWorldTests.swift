import FakeDC
import Foundation
import MTProto
import MTProtoCrypto
import MTProtoNetwork
import TLRuntime
import Testing
import TelegramAPI

/// Our transport (MTProtoSender over TCP) against fake DCs sharing one FakeTelegramWorld: login
/// with a code, 2FA, DC migration, dialogs, sending with pushes, read receipts, groups and
/// channels, and gap recovery with getDifference / getChannelDifference.
@Suite(.timeLimit(.minutes(2))) struct FakeWorldTests {
    @Test func loginWithACodeThenLogOut() async throws {
        let (world, dcs) = try await WorldHarness.start()
        let alice = try await world.addUser(phone: "+999 66 2 0001", firstName: "Alice", username: "alice")
        let client = try await WorldClient.connect(dcs[2]!)

        await #expect(throws: RPCError(code: 401, message: "AUTH_KEY_UNREGISTERED")) { try await client.call(Api.Functions.updates.GetState()) }
        await #expect(throws: RPCError(code: 401, message: "AUTH_KEY_UNREGISTERED")) {
            try await client.call(Api.Functions.users.GetUsers(id: [.inputUserSelf(Api.Types.InputUserSelf())]))
        }
        await #expect(throws: RPCError(code: 400, message: "API_ID_INVALID")) { try await client.call(WorldHarness.sendCode("+999662 0001", apiId: 0)) }
        await #expect(throws: RPCError(code: 400, message: "PHONE_NUMBER_INVALID")) { try await client.call(WorldHarness.sendCode("12")) }
        await #expect(throws: RPCError(code: 400, message: "PHONE_NUMBER_INVALID")) { try await client.call(WorldHarness.sendCode("+999 66 2 9999")) }

        guard case .sentCode(let sent) = try await client.call(WorldHarness.sendCode("+999 66 2 0001")),
              case .sentCodeTypeApp(let type) = sent.type else { throw TestFailure("no sentCode/app") }
        #expect(type.length == 5 && !sent.phoneCodeHash.isEmpty)
        let code = try #require(await world.codeFor(phone: "999662 0001"))
        let wrong = code == "00000" ? "11111" : "00000"
        await #expect(throws: RPCError(code: 400, message: "PHONE_CODE_INVALID")) {
            try await client.call(Api.Functions.auth.SignIn(phoneNumber: "+999 66 2 0001", phoneCodeHash: sent.phoneCodeHash, phoneCode: wrong))
        }
        await #expect(throws: RPCError(code: 400, message: "PHONE_CODE_EXPIRED")) {
            try await client.call(Api.Functions.auth.SignIn(phoneNumber: "+999 66 2 0001", phoneCodeHash: "feedface", phoneCode: code))
        }
        guard case .authorization(let authorization) = try await client.call(
            Api.Functions.auth.SignIn(phoneNumber: "+999 66 2 0001", phoneCodeHash: sent.phoneCodeHash, phoneCode: code)),
            case .user(let me) = authorization.user else { throw TestFailure("no authorization") }
        #expect(me.isSelf && me.id == alice && me.firstName == "Alice" && me.username == "alice" && me.accessHash != nil)
        // A code works once.
        await #expect(throws: RPCError(code: 400, message: "PHONE_CODE_EXPIRED")) {
            try await client.call(Api.Functions.auth.SignIn(phoneNumber: "+999 66 2 0001", phoneCodeHash: sent.phoneCodeHash, phoneCode: code))
        }
        let keyId = try await client.authKeyId()
        #expect(await world.authorizedUser(dcId: 2, authKeyId: keyId) == alice)

        let users = try await client.call(Api.Functions.users.GetUsers(id: [.inputUserSelf(Api.Types.InputUserSelf())]))
        guard users.count == 1, case .user(let self_) = users[0] else { throw TestFailure("no self user") }
        #expect(self_.isSelf && self_.id == alice)
        guard case .state(let state) = try await client.call(Api.Functions.updates.GetState()) else { throw TestFailure("no state") }
        #expect(state.pts == 0 && state.seq == 0 && state.unreadCount == 0)

        _ = try await client.call(Api.Functions.auth.LogOut())
        await #expect(throws: RPCError(code: 401, message: "AUTH_KEY_UNREGISTERED")) { try await client.call(Api.Functions.updates.GetState()) }
        await WorldHarness.stop(client, dcs)
    }

    @Test func twoStepVerificationWithSRP() async throws {
        let (world, dcs) = try await WorldHarness.start()
        let carol = try await world.addUser(phone: "+999 66 2 0003", firstName: "Carol", password: "correct horse", passwordHint: "horse")
        let client = try await WorldClient.connect(dcs[2]!)
        guard case .sentCode(let sent) = try await client.call(WorldHarness.sendCode("+999 66 2 0003")) else { throw TestFailure("no code") }
        let code = try #require(await world.codeFor(phone: "+999 66 2 0003"))
        await #expect(throws: RPCError(code: 401, message: "SESSION_PASSWORD_NEEDED")) {
            try await client.call(Api.Functions.auth.SignIn(phoneNumber: "+999 66 2 0003", phoneCodeHash: sent.phoneCodeHash, phoneCode: code))
        }
        // Not logged in yet.
        await #expect(throws: RPCError(code: 401, message: "AUTH_KEY_UNREGISTERED")) { try await client.call(Api.Functions.updates.GetState()) }

        let first = try await WorldHarness.srpParameters(client)
        #expect(first.hint == "horse")
        let wrong = try SRP.answer(password: "battery staple", parameters: first.parameters)
        await #expect(throws: RPCError(code: 400, message: "PASSWORD_HASH_INVALID")) {
            try await client.call(Api.Functions.auth.CheckPassword(password: .inputCheckPasswordSRP(
                Api.Types.InputCheckPasswordSRP(srpId: wrong.srpId, a: wrong.a, m1: wrong.m1))))
        }
        // Each getPassword starts a new exchange: the old srp_id is no longer accepted.
        let second = try await WorldHarness.srpParameters(client)
        #expect(second.parameters.srpId != first.parameters.srpId && second.parameters.srpB != first.parameters.srpB)
        let stale = try SRP.answer(password: "correct horse", parameters: first.parameters)
        await #expect(throws: RPCError(code: 400, message: "SRP_ID_INVALID")) {
            try await client.call(Api.Functions.auth.CheckPassword(password: .inputCheckPasswordSRP(
                Api.Types.InputCheckPasswordSRP(srpId: stale.srpId, a: stale.a, m1: stale.m1))))
        }
        let right = try SRP.answer(password: "correct horse", parameters: second.parameters)
        guard case .authorization(let authorization) = try await client.call(Api.Functions.auth.CheckPassword(password: .inputCheckPasswordSRP(
            Api.Types.InputCheckPasswordSRP(srpId: right.srpId, a: right.a, m1: right.m1)))),
            case .user(let me) = authorization.user else { throw TestFailure("no authorization") }
        #expect(me.isSelf && me.id == carol)
        _ = try await client.call(Api.Functions.updates.GetState())
        await WorldHarness.stop(client, dcs)
    }

    @Test func phoneMigrateToTheHomeDataCenterAndAuthorizationTransfer() async throws {
        let (world, dcs) = try await WorldHarness.start(dcIds: [2, 4])
        let bob = try await world.addUser(phone: "+999 66 4 0002", firstName: "Bob", homeDc: 4)
        let onTwo = try await WorldClient.connect(dcs[2]!)
        do {
            _ = try await onTwo.call(WorldHarness.sendCode("+999 66 4 0002"))
            Issue.record("expected PHONE_MIGRATE_4")
        } catch let error as RPCError {
            #expect(error.code == 303 && error.message == "PHONE_MIGRATE_4" && error.migration?.kind == .phone && error.migration?.dc == 4)
        }
        let onFour = try await WorldHarness.login(world, dcs[4]!, phone: "+999 66 4 0002")
        let keyId = try await onFour.authKeyId()
        #expect(await world.authorizedUser(dcId: 4, authKeyId: keyId) == bob)

        // The same account on DC 2 through export/import; DC 2 is not its home for messages.
        guard case .exportedAuthorization(let exported) = try await onFour.call(Api.Functions.auth.ExportAuthorization(dcId: 2)) else {
            throw TestFailure("no export")
        }
        guard case .authorization = try await onTwo.call(Api.Functions.auth.ImportAuthorization(id: exported.id, bytes: exported.bytes)) else {
            throw TestFailure("no import")
        }
        await #expect(throws: RPCError(code: 400, message: "AUTH_BYTES_INVALID")) {
            try await onTwo.call(Api.Functions.auth.ImportAuthorization(id: exported.id, bytes: exported.bytes))
        }
        let users = try await onTwo.call(Api.Functions.users.GetUsers(id: [.inputUserSelf(Api.Types.InputUserSelf())]))
        #expect(users.count == 1)
        await #expect(throws: RPCError(code: 303, message: "USER_MIGRATE_4")) { try await onTwo.call(WorldHarness.getDialogs(limit: 10)) }
        await onTwo.close()
        await WorldHarness.stop(onFour, dcs)
    }

    @Test func dialogsPaginateNewestFirstOver120Dialogs() async throws {
        let (world, dcs) = try await WorldHarness.start()
        let alice = try await world.addUser(phone: "+999 66 2 1000", firstName: "Alice")
        var senders: [Int64] = []
        for index in 0..<120 {
            let sender = try await world.addUser(phone: "+999 66 2 \(2000 + index)", firstName: "User \(index)")
            senders.append(sender)
            await world.deliverMessage(from: sender, to: alice, text: "hello \(index)")
        }
        await world.deliverMessage(from: senders[5], to: alice, text: "again")  // user 5 moves to the top, 2 unread
        let client = try await WorldHarness.login(world, dcs[2]!, phone: "+999 66 2 1000")

        var seen: [Int64] = []
        var request = WorldHarness.getDialogs(limit: 50)
        var pages = 0
        while true {
            guard case .dialogsSlice(let slice) = try await client.call(request) else { throw TestFailure("expected dialogsSlice") }
            pages += 1
            #expect(slice.count == 120)
            if slice.dialogs.isEmpty { break }
            #expect(slice.dialogs.count <= 50 && slice.messages.count == slice.dialogs.count)
            var last: (peer: Api.InputPeer, id: Int32, date: Int32)?
            for case .dialog(let dialog) in slice.dialogs {
                guard case .peerUser(let peer) = dialog.peer else { throw TestFailure("not a user dialog") }
                seen.append(peer.userId)
                #expect(dialog.unreadCount == (peer.userId == senders[5] ? 2 : 1))
                #expect(dialog.readInboxMaxId == 0)
                let expectedHash = await world.user(peer.userId)?.accessHash
                guard let hash = slice.users.user(peer.userId)?.accessHash, hash == expectedHash else {
                    throw TestFailure("dialog user missing or without its access hash")
                }
                guard let top = slice.messages.plain.first(where: { $0.id == dialog.topMessage && $0.peerId.userId == peer.userId }) else {
                    throw TestFailure("top message missing")
                }
                #expect(!top.out && top.message.hasPrefix(peer.userId == senders[5] ? "again" : "hello"))
                last = (.inputPeerUser(Api.Types.InputPeerUser(userId: peer.userId, accessHash: hash)), top.id, top.date)
            }
            let offset = try #require(last)
            request = Api.Functions.messages.GetDialogs(offsetDate: offset.date, offsetId: offset.id, offsetPeer: offset.peer, limit: 50, hash: 0)
        }
        #expect(pages == 4)
        let expected = [senders[5]] + Array(senders.filter { $0 != senders[5] }.reversed())
        #expect(seen == expected)

        // A user whose dialogs fit in one answer gets messages.dialogs.
        let dave = try await world.addUser(phone: "+999 66 2 0004", firstName: "Dave")
        await world.deliverMessage(from: senders[0], to: dave, text: "hi Dave")
        let daveClient = try await WorldHarness.login(world, dcs[2]!, phone: "+999 66 2 0004")
        guard case .dialogs(let all) = try await daveClient.call(WorldHarness.getDialogs(limit: 100)) else { throw TestFailure("expected dialogs") }
        #expect(all.dialogs.count == 1 && all.users.count == 1)
        await daveClient.close()
        await WorldHarness.stop(client, dcs)
    }

    @Test func sendPushReadReceiptAndDuplicateRandomId() async throws {
        let (world, dcs) = try await WorldHarness.start()
        let alice = try await world.addUser(phone: "+999 66 2 0001", firstName: "Alice")
        let bob = try await world.addUser(phone: "+999 66 2 0002", firstName: "Bob")
        let aliceClient = try await WorldHarness.login(world, dcs[2]!, phone: "+999 66 2 0001")
        let bobClient = try await WorldHarness.login(world, dcs[2]!, phone: "+999 66 2 0002")
        let toBob = await world.inputPeer(.user(bob))

        guard case .updateShortSentMessage(let sent) = try await aliceClient.call(
            Api.Functions.messages.SendMessage(peer: toBob, message: "hi Bob", randomId: 1)) else { throw TestFailure("no updateShortSentMessage") }
        #expect(sent.out && sent.id == 1 && sent.pts == 1 && sent.ptsCount == 1)
        // First contact: `updates` with the message and the sender's user (and its access hash).
        guard case .updates(let first) = try await bobClient.inbox.next(),
              case .updateNewMessage(let new) = first.updates.first, case .message(let message) = new.message else {
            throw TestFailure("no updates/updateNewMessage")
        }
        #expect(message.message == "hi Bob" && !message.out && new.pts == 1 && new.ptsCount == 1 && first.seq == 1)
        #expect(first.users.user(alice)?.accessHash != nil)

        _ = try await aliceClient.call(Api.Functions.messages.SendMessage(peer: toBob, message: "how are you?", randomId: 2))
        guard case .updateShortMessage(let short) = try await bobClient.inbox.next() else { throw TestFailure("no updateShortMessage") }
        #expect(short.userId == alice && short.message == "how are you?" && short.id == 2 && short.pts == 2 && !short.out)

        await #expect(throws: RPCError(code: 500, message: "RANDOM_ID_DUPLICATE")) {
            try await aliceClient.call(Api.Functions.messages.SendMessage(peer: toBob, message: "how are you?", randomId: 2))
        }
        await #expect(throws: RPCError(code: 400, message: "PEER_ID_INVALID")) {
            try await aliceClient.call(Api.Functions.messages.SendMessage(
                peer: .inputPeerUser(Api.Types.InputPeerUser(userId: bob, accessHash: 42)), message: "x", randomId: 3))
        }
        await #expect(throws: RPCError(code: 400, message: "MESSAGE_EMPTY")) {
            try await aliceClient.call(Api.Functions.messages.SendMessage(peer: toBob, message: "  ", randomId: 4))
        }

        // Bob reads: his pts moves, Alice is told her messages were read.
        let toAlice = await world.inputPeer(.user(alice))
        guard case .affectedMessages(let affected) = try await bobClient.call(Api.Functions.messages.ReadHistory(peer: toAlice, maxId: 0)) else {
            throw TestFailure("no affectedMessages")
        }
        #expect(affected.pts == 3 && affected.ptsCount == 1)
        guard case .updateShort(let receipt) = try await aliceClient.inbox.next(),
              case .updateReadHistoryOutbox(let read) = receipt.update,
              case .peerUser(let reader) = read.peer else { throw TestFailure("no updateReadHistoryOutbox") }
        #expect(reader.userId == bob && read.maxId == 2 && read.pts == 3)

        guard case .messages(let history) = try await bobClient.call(Api.Functions.messages.GetHistory(
            peer: toAlice, offsetId: 0, offsetDate: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0, hash: 0)) else {
            throw TestFailure("no messages.messages")
        }
        #expect(history.messages.plain.map(\.id) == [2, 1])
        #expect(await world.messages(of: bob).map(\.text) == ["hi Bob", "how are you?"])
        await aliceClient.close()
        await WorldHarness.stop(bobClient, dcs)
    }

    @Test func withheldUpdatesAreRecoveredWithGetDifferenceSlices() async throws {
        let (world, dcs) = try await WorldHarness.start()
        let alice = try await world.addUser(phone: "+999 66 2 0001", firstName: "Alice")
        let bob = try await world.addUser(phone: "+999 66 2 0002", firstName: "Bob")
        let bobClient = try await WorldHarness.login(world, dcs[2]!, phone: "+999 66 2 0002")
        guard case .state(let start) = try await bobClient.call(Api.Functions.updates.GetState()) else { throw TestFailure("no state") }

        await world.withholdUpdates(bob, true)
        for index in 0..<120 { await world.deliverMessage(from: alice, to: bob, text: "m\(index)") }
        await world.settle()
        try await Task.sleep(for: .milliseconds(200))
        #expect(await bobClient.inbox.count == 0)

        var pts = start.pts
        var texts: [String] = []
        var kinds: [String] = []
        loop: while true {
            switch try await bobClient.call(Api.Functions.updates.GetDifference(pts: pts, date: start.date, qts: 0)) {
            case .differenceSlice(let slice):
                kinds.append("slice")
                guard case .state(let intermediate) = slice.intermediateState else { throw TestFailure("no state") }
                texts += slice.newMessages.plain.map(\.message)
                #expect(slice.users.user(alice) != nil)
                pts = intermediate.pts
            case .difference(let difference):
                kinds.append("difference")
                guard case .state(let state) = difference.state else { throw TestFailure("no state") }
                texts += difference.newMessages.plain.map(\.message)
                pts = state.pts
            case .differenceEmpty:
                kinds.append("empty")
                break loop
            case .differenceTooLong:
                throw TestFailure("unexpected differenceTooLong")
            }
        }
        #expect(kinds == ["slice", "slice", "difference", "empty"])
        #expect(texts == (0..<120).map { "m\($0)" })
        #expect(pts == 120)

        // Pushes resume where the sequence is.
        await world.withholdUpdates(bob, false)
        await world.deliverMessage(from: alice, to: bob, text: "back")
        guard case .updateShortMessage(let short) = try await bobClient.inbox.next() else { throw TestFailure("no push") }
        #expect(short.pts == 121 && short.message == "back")

        guard case .differenceTooLong(let tooLong) = try await bobClient.call(
            Api.Functions.updates.GetDifference(pts: 0, ptsTotalLimit: 100, date: start.date, qts: 0)) else {
            throw TestFailure("expected differenceTooLong")
        }
        #expect(tooLong.pts == 121)
        await #expect(throws: RPCError(code: 400, message: "PERSISTENT_TIMESTAMP_INVALID")) {
            try await bobClient.call(Api.Functions.updates.GetDifference(pts: 500, date: start.date, qts: 0))
        }
        // History is where a client goes after differenceTooLong.
        guard case .messagesSlice(let history) = try await bobClient.call(Api.Functions.messages.GetHistory(
            peer: await world.inputPeer(.user(alice)), offsetId: 0, offsetDate: 0, addOffset: 0, limit: 50, maxId: 0, minId: 0, hash: 0)) else {
            throw TestFailure("expected messagesSlice")
        }
        #expect(history.count == 121 && history.messages.count == 50)
        await WorldHarness.stop(bobClient, dcs)
    }

    @Test func groupsChannelsAndChannelDifference() async throws {
        let (world, dcs) = try await WorldHarness.start()
        let alice = try await world.addUser(phone: "+999 66 2 0001", firstName: "Alice")
        let bob = try await world.addUser(phone: "+999 66 2 0002", firstName: "Bob")
        let carol = try await world.addUser(phone: "+999 66 2 0003", firstName: "Carol")
        let aliceClient = try await WorldHarness.login(world, dcs[2]!, phone: "+999 66 2 0001")
        let bobClient = try await WorldHarness.login(world, dcs[2]!, phone: "+999 66 2 0002")

        // Basic group: the sender gets updates(updateMessageID, updateNewMessage), others updateShortChatMessage.
        let group = await world.createGroup(title: "Trio", members: [alice, bob, carol])
        guard case .updates(let created) = try await bobClient.inbox.next(),
              case .updateNewMessage(let service) = created.updates.first, case .messageService = service.message,
              case .chat(let chat) = created.chats.first else { throw TestFailure("no group creation") }
        #expect(chat.id == group && chat.participantsCount == 3 && created.users.count == 3)
        guard case .updates(let result) = try await aliceClient.call(Api.Functions.messages.SendMessage(
            peer: .inputPeerChat(Api.Types.InputPeerChat(chatId: group)), message: "hello group", randomId: 77)),
            case .updateMessageID(let messageId) = result.updates.first,
            case .updateNewMessage(let new) = result.updates.last else { throw TestFailure("no updates") }
        #expect(messageId.randomId == 77 && messageId.id == 2 && new.pts == 2)
        guard case .updateShortChatMessage(let short) = try await bobClient.inbox.next(where: WorldHarness.isShortChatMessage) else {
            throw TestFailure("no updateShortChatMessage")
        }
        #expect(short.fromId == alice && short.chatId == group && short.message == "hello group")

        // Supergroup: updateNewChannelMessage with the channel's own pts.
        let supergroup = await world.createChannel(title: "Super", megagroup: true, members: [alice, bob])
        let superPeer = await world.inputPeer(.channel(supergroup))
        guard case .updates(let posted) = try await bobClient.call(Api.Functions.messages.SendMessage(peer: superPeer, message: "from Bob", randomId: 5)),
              case .updateNewChannelMessage(let channelMessage) = posted.updates.last else { throw TestFailure("no channel message") }
        #expect(channelMessage.pts == 2 && posted.seq == 0)
        let pushed = try await aliceClient.inbox.next { updates in
            if case .updates(let u) = updates, case .updateNewChannelMessage(let m) = u.updates.first, m.pts == 2 { true } else { false }
        }
        guard case .updates(let pushedUpdates) = pushed, case .channel(let channel) = pushedUpdates.chats.first else { throw TestFailure("no channel") }
        #expect(channel.id == supergroup && channel.megagroup && channel.accessHash != nil)

        // Broadcast channel: only its creator posts.
        let broadcast = await world.createChannel(title: "News", megagroup: false, members: [alice, bob])
        await #expect(throws: RPCError(code: 403, message: "CHAT_WRITE_FORBIDDEN")) {
            try await bobClient.call(Api.Functions.messages.SendMessage(peer: await world.inputPeer(.channel(broadcast)), message: "no", randomId: 6))
        }
        await #expect(throws: RPCError(code: 400, message: "CHANNEL_INVALID")) {
            try await bobClient.call(Api.Functions.messages.SendMessage(
                peer: .inputPeerChannel(Api.Types.InputPeerChannel(channelId: supergroup, accessHash: 1)), message: "x", randomId: 7))
        }

        // Channel updates lost: getDifference points at the channel, getChannelDifference has them.
        guard case .state(let state) = try await bobClient.call(Api.Functions.updates.GetState()) else { throw TestFailure("no state") }
        await world.withholdUpdates(bob, true)
        for index in 0..<3 { await world.deliverGroupMessage(from: alice, to: supergroup, text: "s\(index)") }
        guard case .difference(let difference) = try await bobClient.call(Api.Functions.updates.GetDifference(pts: state.pts, date: state.date, qts: 0)),
              case .updateChannelTooLong(let tooLong) = difference.otherUpdates.first else { throw TestFailure("no updateChannelTooLong") }
        #expect(tooLong.channelId == supergroup && difference.newMessages.isEmpty)
        let inputChannel = Api.InputChannel.inputChannel(Api.Types.InputChannel(channelId: supergroup, accessHash: channel.accessHash!))
        guard case .channelDifferenceTooLong(let channelTooLong) = try await bobClient.call(Api.Functions.updates.GetChannelDifference(
            channel: inputChannel, filter: .channelMessagesFilterEmpty(Api.Types.ChannelMessagesFilterEmpty()), pts: 2, limit: 1)),
            case .dialog(let dialog) = channelTooLong.dialog else { throw TestFailure("expected channelDifferenceTooLong") }
        #expect(dialog.pts == 5 && dialog.topMessage == 5 && dialog.unreadCount == 4)
        guard case .channelDifference(let channelDifference) = try await bobClient.call(Api.Functions.updates.GetChannelDifference(
            channel: inputChannel, filter: .channelMessagesFilterEmpty(Api.Types.ChannelMessagesFilterEmpty()), pts: 2, limit: 100)) else {
            throw TestFailure("expected channelDifference")
        }
        #expect(channelDifference.final && channelDifference.pts == 5)
        #expect(channelDifference.newMessages.plain.map(\.message) == ["s0", "s1", "s2"])
        guard case .channelDifferenceEmpty(let empty) = try await bobClient.call(Api.Functions.updates.GetChannelDifference(
            channel: inputChannel, filter: .channelMessagesFilterEmpty(Api.Types.ChannelMessagesFilterEmpty()), pts: 5, limit: 100)) else {
            throw TestFailure("expected channelDifferenceEmpty")
        }
        #expect(empty.pts == 5)
        guard case .differenceEmpty = try await bobClient.call(Api.Functions.updates.GetDifference(pts: state.pts, date: state.date, qts: 0)) else {
            throw TestFailure("expected differenceEmpty once the channel is caught up")
        }

        // Bob reads the supergroup: Alice, who wrote there, is told.
        #expect(try await bobClient.call(Api.Functions.channels.ReadHistory(channel: inputChannel, maxId: 0)))
        let readOutbox = try await aliceClient.inbox.next { updates in
            if case .updateShort(let short) = updates, case .updateReadChannelOutbox = short.update { true } else { false }
        }
        guard case .updateShort(let short) = readOutbox, case .updateReadChannelOutbox(let read) = short.update else { throw TestFailure("no read") }
        #expect(read.channelId == supergroup && read.maxId == 5)
        await aliceClient.close()
        await WorldHarness.stop(bobClient, dcs)
    }

    @Test func revokedSessionsAnswerSessionRevoked() async throws {
        let (world, dcs) = try await WorldHarness.start()
        let alice = try await world.addUser(phone: "+999 66 2 0001", firstName: "Alice")
        let client = try await WorldHarness.login(world, dcs[2]!, phone: "+999 66 2 0001")
        _ = try await client.call(Api.Functions.updates.GetState())
        await world.revokeSessions(userId: alice)
        await #expect(throws: RPCError(code: 401, message: "SESSION_REVOKED")) { try await client.call(Api.Functions.updates.GetState()) }
        await WorldHarness.stop(client, dcs)
    }
}

// MARK: Support

extension Array where Element == Api.User {
    func user(_ id: Int64) -> Api.Types.User? {
        for case .user(let user) in self where user.id == id { return user }
        return nil
    }
}

extension Array where Element == Api.Message {
    /// The plain (non-service) messages.
    var plain: [Api.Types.Message] {
        compactMap { message -> Api.Types.Message? in
            if case .message(let value) = message { return value }
            return nil
        }
    }
}

extension Api.Peer {
    var userId: Int64? {
        if case .peerUser(let peer) = self { return peer.userId }
        return nil
    }
}

/// The updates pushed to one client, in order of arrival.
actor UpdateInbox {
    private var items: [Api.Updates] = []

    func append(_ updates: Api.Updates) { items.append(updates) }

    var count: Int { items.count }

    /// The first update (matching `predicate`) to arrive within `timeout`; earlier non-matching ones stay queued.
    func next(within timeout: Duration = .seconds(5), where predicate: @Sendable (Api.Updates) -> Bool = { _ in true }) async throws -> Api.Updates {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let index = items.firstIndex(where: predicate) { return items.remove(at: index) }
            guard ContinuousClock.now < deadline else { throw TestFailure("no update within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A sender on a world DC whose pushed updates land in `inbox`.
struct WorldClient {
    let sender: MTProtoSender
    let inbox: UpdateInbox

    static func connect(_ dataCenter: FakeDataCenter) async throws -> WorldClient {
        let sender = MTProtoSender(configuration: FakeDCSupport.senderConfiguration(port: await dataCenter.port))
        let inbox = UpdateInbox()
        Task {
            for await event in sender.events {
                if case .update(let bytes) = event, let updates = try? Api.Updates(tlBytes: bytes) { await inbox.append(updates) }
            }
        }
        try await sender.connect()
        // The first call of a client, wrapped as Telegram wants it.
        _ = try await sender.invoke(Api.Functions.InvokeWithLayer(layer: 201, query: Api.Functions.InitConnection(
            apiId: 1, deviceModel: "test", systemVersion: "linux", appVersion: "1.0", systemLangCode: "en", langPack: "", langCode: "en",
            query: Api.Functions.help.GetConfig())))
        return WorldClient(sender: sender, inbox: inbox)
    }

    func call<F: TLFunction>(_ function: F) async throws -> F.Result { try await sender.invoke(function) }

    func authKeyId() async throws -> Int64 { try #require(await sender.authorization).authKey.id }

    func close() async { await sender.close() }
}

enum WorldHarness {
    /// A world with one fake DC per id, all attached.
    static func start(dcIds: [Int32] = [2], _ configure: (inout FakeTelegramWorld.Configuration) -> Void = { _ in })
        async throws -> (FakeTelegramWorld, [Int32: FakeDataCenter]) {
        var configuration = FakeTelegramWorld.Configuration()
        configure(&configuration)
        let world = FakeTelegramWorld(configuration: configuration)
        var dcs: [Int32: FakeDataCenter] = [:]
        for id in dcIds {
            let dataCenter = try await FakeDCSupport.start { $0.dcId = id }
            await world.attach(to: dataCenter)
            dcs[id] = dataCenter
        }
        return (world, dcs)
    }

    static func stop(_ client: WorldClient, _ dcs: [Int32: FakeDataCenter]) async {
        await client.close()
        for dataCenter in dcs.values { await dataCenter.stop() }
    }

    static func sendCode(_ phone: String, apiId: Int32 = 1) -> Api.Functions.auth.SendCode {
        Api.Functions.auth.SendCode(phoneNumber: phone, apiId: apiId, apiHash: "0123456789abcdef", settings: .codeSettings(Api.Types.CodeSettings()))
    }

    static func getDialogs(limit: Int32) -> Api.Functions.messages.GetDialogs {
        Api.Functions.messages.GetDialogs(offsetDate: 0, offsetId: 0, offsetPeer: .inputPeerEmpty(Api.Types.InputPeerEmpty()), limit: limit, hash: 0)
    }

    /// Connects and logs in with the code the world sent (no 2FA).
    static func login(_ world: FakeTelegramWorld, _ dataCenter: FakeDataCenter, phone: String) async throws -> WorldClient {
        let client = try await WorldClient.connect(dataCenter)
        guard case .sentCode(let sent) = try await client.call(sendCode(phone)) else { throw TestFailure("no sentCode") }
        let code = try #require(await world.codeFor(phone: phone))
        guard case .authorization = try await client.call(Api.Functions.auth.SignIn(phoneNumber: phone, phoneCodeHash: sent.phoneCodeHash, phoneCode: code))
        else { throw TestFailure("no authorization") }
        return client
    }

    static func srpParameters(_ client: WorldClient) async throws -> (parameters: SRP.Parameters, hint: String?) {
        guard case .password(let password) = try await client.call(Api.Functions.account.GetPassword()), password.hasPassword,
              case .passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(let algo)? = password.currentAlgo,
              let srpB = password.srpB, let srpId = password.srpId else { throw TestFailure("no SRP parameters") }
        #expect(algo.g == 3 && algo.p == DiffieHellman.telegramPrime && srpB.count == 256)
        return (SRP.Parameters(salt1: algo.salt1, salt2: algo.salt2, g: algo.g, p: algo.p, srpB: srpB, srpId: srpId), password.hint)
    }

    @Sendable static func isShortChatMessage(_ updates: Api.Updates) -> Bool {
        if case .updateShortChatMessage = updates { true } else { false }
    }
}
