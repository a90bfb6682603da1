import Testing
import TelegramAPI
@testable import TelegramClient

/// The update engine alone, with hand-built Updates (core.telegram.org/api/updates rules).
@Suite struct UpdateEngineTests {
    static let peer: Int64 = 777

    static func short(_ id: Int32, pts: Int32, count: Int32 = 1, text: String? = nil) -> Api.Updates {
        .updateShortMessage(.init(id: id, userId: peer, message: text ?? "m\(id)", pts: pts, ptsCount: count, date: 1_700_000_000 + id))
    }

    static func newMessage(_ id: Int32, pts: Int32) -> Api.Update {
        .updateNewMessage(.init(message: message(id), pts: pts, ptsCount: 1))
    }

    static func message(_ id: Int32, channel: Int64? = nil) -> Api.Message {
        let peer: Api.Peer = channel.map { .peerChannel(.init(channelId: $0)) } ?? .peerUser(.init(userId: Self.peer))
        return .message(.init(id: id, peerId: peer, date: 1_700_000_000 + id, message: "m\(id)"))
    }

    static func channelMessage(_ id: Int32, channel: Int64, pts: Int32) -> Api.Update {
        .updateNewChannelMessage(.init(message: message(id, channel: channel), pts: pts, ptsCount: 1))
    }

    static func state(pts: Int32, seq: Int32 = 0, qts: Int32 = 0) -> Api.updates.State {
        .state(.init(pts: pts, qts: qts, date: 1_700_000_100, seq: seq, unreadCount: 0))
    }

    /// Message ids of every applied batch, in order.
    static func applied(_ actions: [UpdateEngineAction]) -> [Int32] {
        actions.flatMap { action -> [Int32] in
            guard case .apply(let batch) = action else { return [] }
            return batch.updates.compactMap { update in
                switch update {
                case .updateNewMessage(let u): if case .message(let m) = u.message { return m.id }
                case .updateNewChannelMessage(let u): if case .message(let m) = u.message { return m.id }
                default: break
                }
                return nil
            }
        }
    }

    static func gapToken(_ actions: [UpdateEngineAction], _ key: GapKey = .common) -> UInt64? {
        for case .waitForGap(let gapKey, let token) in actions where gapKey == key { return token }
        return nil
    }

    static func asksDifference(_ actions: [UpdateEngineAction]) -> Bool {
        actions.contains { if case .getDifference = $0 { true } else { false } }
    }

    @Test func inOrderUpdatesApplyAndDuplicatesAreIgnored() {
        var engine = UpdateEngine(state: UpdateState(pts: 10, qts: 0, date: 0, seq: 0))
        #expect(Self.applied(engine.receive(Self.short(1, pts: 11))) == [1])
        #expect(Self.applied(engine.receive(Self.short(2, pts: 12))) == [2])
        #expect(engine.receive(Self.short(2, pts: 12)).isEmpty)
        #expect(engine.receive(Self.short(1, pts: 11)).isEmpty)
        #expect(engine.state?.pts == 12)
    }

    @Test func aFreshAccountStartsAtPtsZero() {
        var engine = UpdateEngine()
        #expect(engine.receive(Self.short(1, pts: 1)).isEmpty, "no state yet: nothing is applied")
        engine.start(UpdateState(pts: 0, qts: 0, date: 0, seq: 0))
        #expect(Self.applied(engine.receive(Self.short(1, pts: 1))) == [1])
        #expect(engine.state?.pts == 1)
    }

    @Test func aGapIsBufferedAndFilledInOrderWithoutADifference() {
        var engine = UpdateEngine(state: UpdateState(pts: 10, qts: 0, date: 0, seq: 0))
        let first = engine.receive(Self.short(3, pts: 13))
        let token = Self.gapToken(first)
        #expect(token != nil && Self.applied(first).isEmpty)
        #expect(Self.applied(engine.receive(Self.short(2, pts: 12))).isEmpty)
        #expect(Self.applied(engine.receive(Self.short(1, pts: 11))) == [1, 2, 3])
        #expect(engine.state?.pts == 13)
        #expect(engine.gapTimerFired(.common, token: token!).isEmpty, "the gap closed: the timer does nothing")
        #expect(!engine.hasPendingGaps)
    }

    @Test func aGapThatStaysOpenAsksForTheDifferenceWhichRecoversInOrder() {
        var engine = UpdateEngine(state: UpdateState(pts: 10, qts: 0, date: 0, seq: 0))
        let token = Self.gapToken(engine.receive(Self.short(3, pts: 13)))!
        let fired = engine.gapTimerFired(.common, token: token)
        guard case .getDifference(let pts, _, _)? = fired.first else { Issue.record("no getDifference: \(fired)"); return }
        #expect(pts == 10)
        // While the difference runs, pushes are buffered.
        #expect(engine.receive(Self.short(5, pts: 15)).isEmpty)
        #expect(engine.gapTimerFired(.common, token: token).isEmpty)
        let difference = Api.updates.Difference.difference(.init(
            newMessages: [Self.message(1), Self.message(2), Self.message(3), Self.message(4)], newEncryptedMessages: [],
            otherUpdates: [], chats: [], users: [], state: Self.state(pts: 14)))
        let actions = engine.applyDifference(difference)
        #expect(Self.applied(actions) == [1, 2, 3, 4, 5], "the difference, then the buffered push after it")
        #expect(engine.state?.pts == 15)
        #expect(!engine.fetchingDifference && !engine.hasPendingGaps)
    }

    @Test func differenceSlicesAreFollowedUntilTheLastPage() {
        var engine = UpdateEngine(state: UpdateState(pts: 0, qts: 0, date: 0, seq: 0))
        #expect(Self.asksDifference(engine.requestDifference()))
        #expect(engine.requestDifference().isEmpty, "one getDifference at a time")
        let slice = Api.updates.Difference.differenceSlice(.init(
            newMessages: [Self.message(1), Self.message(2)], newEncryptedMessages: [], otherUpdates: [], chats: [], users: [],
            intermediateState: Self.state(pts: 2)))
        let first = engine.applyDifference(slice)
        #expect(Self.applied(first) == [1, 2])
        guard case .getDifference(let pts, _, _)? = first.last else { Issue.record("no next page"); return }
        #expect(pts == 2 && engine.fetchingDifference)
        let last = engine.applyDifference(.difference(.init(
            newMessages: [Self.message(3)], newEncryptedMessages: [], otherUpdates: [], chats: [], users: [], state: Self.state(pts: 3, seq: 4))))
        #expect(Self.applied(last) == [3] && !Self.asksDifference(last))
        #expect(engine.state?.pts == 3 && engine.state?.seq == 4 && !engine.fetchingDifference)
    }

    @Test func differenceEmptyAndTooLong() {
        var engine = UpdateEngine(state: UpdateState(pts: 5, qts: 0, date: 100, seq: 1))
        _ = engine.requestDifference()
        let empty = engine.applyDifference(.differenceEmpty(.init(date: 200, seq: 2)))
        #expect(empty.isEmpty && engine.state == UpdateState(pts: 5, qts: 0, date: 200, seq: 2))
        _ = engine.requestDifference()
        let tooLong = engine.applyDifference(.differenceTooLong(.init(pts: 5000)))
        guard case .differenceTooLong(let since)? = tooLong.first, case .getDifference(let pts, _, _)? = tooLong.last else {
            Issue.record("\(tooLong)"); return
        }
        #expect(since == 200 && pts == 5000 && engine.state?.pts == 5000)
    }

    @Test func updatesTooLongAndFailedDifferencesAreRetried() {
        var engine = UpdateEngine(state: UpdateState(pts: 5, qts: 0, date: 0, seq: 0))
        #expect(Self.asksDifference(engine.receive(.updatesTooLong(.init()))))
        let failed = engine.differenceFailed()
        let token = Self.gapToken(failed)!
        #expect(Self.asksDifference(engine.gapTimerFired(.common, token: token)))
    }

    @Test func seqContainersApplyInOrderAndGapsWait() {
        var engine = UpdateEngine(state: UpdateState(pts: 0, qts: 0, date: 0, seq: 3))
        func container(_ id: Int32, pts: Int32, seq: Int32) -> Api.Updates {
            .updates(.init(updates: [Self.newMessage(id, pts: pts)], users: [], chats: [], date: 1_700_000_000, seq: seq))
        }
        #expect(Self.applied(engine.receive(container(1, pts: 1, seq: 4))) == [1])
        #expect(engine.state?.seq == 4)
        #expect(engine.receive(container(1, pts: 1, seq: 4)).isEmpty, "seq already applied")
        let gap = engine.receive(container(3, pts: 3, seq: 6))
        #expect(Self.gapToken(gap) != nil && Self.applied(gap).isEmpty)
        #expect(Self.applied(engine.receive(container(2, pts: 2, seq: 5))) == [2, 3])
        #expect(engine.state?.seq == 6 && engine.state?.pts == 3)
        // seq 0: no seq check, the pts rules still apply.
        #expect(Self.applied(engine.receive(container(4, pts: 4, seq: 0))) == [4])
        #expect(engine.state?.seq == 6)
    }

    @Test func shortSentMessagesAndAffectedMessagesMoveThePts() {
        var engine = UpdateEngine(state: UpdateState(pts: 7, qts: 0, date: 0, seq: 0))
        let sent = engine.receive(.updateShortSentMessage(.init(out: true, id: 9, pts: 8, ptsCount: 1, date: 0)))
        #expect(Self.applied(sent).isEmpty && engine.state?.pts == 8)
        #expect(engine.receiveAffected(pts: 9, ptsCount: 1).isEmpty && engine.state?.pts == 9)
        #expect(Self.applied(engine.receive(Self.short(10, pts: 10))) == [10])
    }

    @Test func channelsHaveTheirOwnPtsAndGapsAskForTheChannelDifference() {
        var engine = UpdateEngine(state: UpdateState(pts: 0, qts: 0, date: 0, seq: 0))
        let channel: Int64 = 1_700_000_001
        func push(_ update: Api.Update) -> [UpdateEngineAction] {
            engine.receive(.updates(.init(updates: [update], users: [], chats: [], date: 0, seq: 0)))
        }
        #expect(Self.applied(push(Self.channelMessage(1, channel: channel, pts: 5))) == [1], "first update of an unknown channel")
        #expect(engine.state?.channelPts[channel] == 5)
        #expect(Self.applied(push(Self.channelMessage(2, channel: channel, pts: 6))) == [2])
        let gap = push(Self.channelMessage(4, channel: channel, pts: 8))
        let token = Self.gapToken(gap, .channel(channel))!
        #expect(engine.state?.pts == 0, "the common sequence does not move")
        let fired = engine.gapTimerFired(.channel(channel), token: token)
        guard case .getChannelDifference(let id, let pts)? = fired.first else { Issue.record("\(fired)"); return }
        #expect(id == channel && pts == 6)
        let actions = engine.applyChannelDifference(channelId: channel, .channelDifference(.init(
            final: true, pts: 8, newMessages: [Self.message(3, channel: channel), Self.message(4, channel: channel)],
            otherUpdates: [], chats: [], users: [])))
        #expect(Self.applied(actions) == [3, 4], "the buffered copy of 4 is dropped")
        #expect(engine.state?.channelPts[channel] == 8 && !engine.hasPendingGaps)
    }

    @Test func aChannelThatCannotBeFetchedReleasesItsBufferInOrder() {
        var engine = UpdateEngine(state: UpdateState(pts: 0, qts: 0, date: 0, seq: 0, channelPts: [42: 1]))
        let gap = engine.receive(.updates(.init(updates: [Self.channelMessage(7, channel: 42, pts: 4), Self.channelMessage(6, channel: 42, pts: 3)],
                                                users: [], chats: [], date: 0, seq: 0)))
        let token = Self.gapToken(gap, .channel(42))!
        _ = engine.gapTimerFired(.channel(42), token: token)
        #expect(Self.applied(engine.channelDifferenceFailed(channelId: 42)) == [6, 7])
        #expect(engine.state?.channelPts[42] == 4)
    }

    @Test func qtsFollowsItsOwnSequence() {
        var engine = UpdateEngine(state: UpdateState(pts: 0, qts: 3, date: 0, seq: 0))
        let stopped = { (qts: Int32) in Api.Updates.updateShort(.init(update: .updateBotStopped(.init(userId: 1, date: 0, stopped: true, qts: qts)), date: 0)) }
        #expect(!engine.receive(stopped(4)).isEmpty && engine.state?.qts == 4)
        #expect(engine.receive(stopped(4)).isEmpty)
        #expect(Self.gapToken(engine.receive(stopped(6))) != nil)
        _ = engine.receive(stopped(5))
        #expect(engine.state?.qts == 6)
    }

    @Test func differencesApplyUpdateMessageIDBeforeMessagesAndChannelUpdatesByTheirPts() {
        var engine = UpdateEngine(state: UpdateState(pts: 0, qts: 0, date: 0, seq: 0, channelPts: [9: 2]))
        _ = engine.requestDifference()
        let actions = engine.applyDifference(.difference(.init(
            newMessages: [Self.message(1)], newEncryptedMessages: [],
            otherUpdates: [Self.channelMessage(3, channel: 9, pts: 3), .updateMessageID(.init(id: 1, randomId: 99))],
            chats: [], users: [], state: Self.state(pts: 1))))
        guard case .apply(let batch)? = actions.first else { Issue.record("\(actions)"); return }
        guard case .updateMessageID = batch.updates.first else { Issue.record("updateMessageID is not first"); return }
        #expect(Self.applied(actions) == [1, 3])
        #expect(engine.state?.channelPts[9] == 3)
    }

    @Test func aShortUpdateFromAnUnknownUserFetchesTheDifferenceInstead() {
        var engine = UpdateEngine(state: UpdateState(pts: 4, qts: 0, date: 0, seq: 0))
        let actions = engine.receiveWithoutEntities(Self.short(5, pts: 5))
        #expect(Self.applied(actions).isEmpty && Self.asksDifference(actions))
        #expect(engine.state?.pts == 4)
        #expect(engine.receiveWithoutEntities(Self.short(4, pts: 4)).isEmpty, "already applied")
        // Another one while the difference runs: a second difference follows the first.
        #expect(engine.receiveWithoutEntities(Self.short(6, pts: 6)).isEmpty)
        let first = engine.applyDifference(.difference(.init(
            newMessages: [Self.message(5)], newEncryptedMessages: [], otherUpdates: [], chats: [], users: [], state: Self.state(pts: 5))))
        #expect(Self.applied(first) == [5] && Self.asksDifference(first))
    }

    @Test func channelTooLongFetchesFromOurPtsOrFromTheStart() {
        var engine = UpdateEngine(state: UpdateState(pts: 0, qts: 0, date: 0, seq: 0, channelPts: [5: 40]))
        let tooLong = { (id: Int64) in Api.Updates.updateShort(.init(update: .updateChannelTooLong(.init(channelId: id, pts: 90)), date: 0)) }
        guard case .getChannelDifference(5, 40)? = engine.receive(tooLong(5)).first else { Issue.record("known channel"); return }
        guard case .getChannelDifference(6, 1)? = engine.receive(tooLong(6)).first else { Issue.record("unknown channel"); return }
        engine.learnChannelPts(7, pts: 12)
        engine.learnChannelPts(5, pts: 99)
        #expect(engine.state?.channelPts[7] == 12 && engine.state?.channelPts[5] == 40)
    }
}
