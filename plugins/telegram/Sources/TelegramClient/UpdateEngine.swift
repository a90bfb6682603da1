import TelegramAPI

/// Updates ready to apply, in order, with the users and chats that came with them.
public struct UpdateBatch: Sendable {
    public var updates: [Api.Update] = []
    public var users: [Api.User] = []
    public var chats: [Api.Chat] = []

    public init(updates: [Api.Update] = [], users: [Api.User] = [], chats: [Api.Chat] = []) {
        self.updates = updates
        self.users = users
        self.chats = chats
    }

    public var isEmpty: Bool { updates.isEmpty && users.isEmpty && chats.isEmpty }

    mutating func append(_ update: Api.Update, users: [Api.User], chats: [Api.Chat]) {
        updates.append(update)
        self.users += users
        self.chats += chats
    }
}

/// Which gap a timer waits on: the common sequence (pts, qts, seq) or one channel's pts.
public enum GapKey: Hashable, Sendable {
    case common
    case channel(Int64)
}

/// What the engine asks its driver to do, in order.
public enum UpdateEngineAction: Sendable {
    /// Apply these updates (emit their events), then persist `state` when convenient.
    case apply(UpdateBatch)
    /// A gap opened: call `gapTimerFired(key, token:)` after the gap timeout (a later token supersedes).
    case waitForGap(GapKey, token: UInt64)
    /// Call updates.getDifference from this state and pass the answer to `applyDifference`.
    case getDifference(pts: Int32, qts: Int32, date: Int32)
    /// Call updates.getChannelDifference and pass the answer to `applyChannelDifference`.
    case getChannelDifference(channelId: Int64, pts: Int32)
    /// updates.differenceTooLong: history between the old and the new pts is lost to updates;
    /// the driver may re-fetch recent history (best effort). Messages dated at or after `since`.
    case differenceTooLong(since: Int32)
}

/// The update state machine of core.telegram.org/api/updates, without I/O: it checks pts/qts/seq,
/// applies what is in order, drops what was already applied, buffers what comes after a gap (and asks
/// for a timer), and asks for getDifference / getChannelDifference when a gap does not close in time,
/// after updatesTooLong, and on demand (reconnect, new session).
public struct UpdateEngine: Sendable {
    public private(set) var state: UpdateState?
    /// A getDifference is running: common updates are buffered until its answer.
    public private(set) var fetchingDifference = false
    public private(set) var fetchingChannels: Set<Int64> = []

    private struct PtsEntry {
        /// nil for updates that only move the sequence (updateShortSentMessage, messages.affectedMessages).
        var update: Api.Update?
        var pts: Int32
        var count: Int32
        var users: [Api.User]
        var chats: [Api.Chat]
    }

    private struct SeqEntry {
        var updates: [Api.Update]
        var users: [Api.User]
        var chats: [Api.Chat]
        var date: Int32
        var seqStart: Int32
        var seq: Int32
    }

    private var pendingPts: [PtsEntry] = []
    private var pendingQts: [PtsEntry] = []
    private var pendingSeq: [SeqEntry] = []
    private var pendingChannels: [Int64: [PtsEntry]] = [:]
    private var timers: [GapKey: UInt64] = [:]
    private var nextToken: UInt64 = 0
    /// A getDifference is owed (reconnect, failed fetch) even with nothing buffered.
    private var differenceOwed = false

    public init(state: UpdateState? = nil) {
        self.state = state
    }

    /// Starts (or restarts) from a state: updates.getState for a fresh login, the persisted state on resume.
    public mutating func start(_ state: UpdateState) {
        self.state = state
        reset()
    }

    /// Forgets everything (logged out).
    public mutating func stop() {
        state = nil
        reset()
    }

    private mutating func reset() {
        pendingPts = []
        pendingQts = []
        pendingSeq = []
        pendingChannels = [:]
        timers = [:]
        fetchingDifference = false
        fetchingChannels = []
        differenceOwed = false
    }

    public var hasPendingGaps: Bool {
        !pendingPts.isEmpty || !pendingQts.isEmpty || !pendingSeq.isEmpty || pendingChannels.values.contains { !$0.isEmpty }
    }

    // MARK: Input

    /// An Updates value pushed by the server or returned by a method.
    public mutating func receive(_ updates: Api.Updates) -> [UpdateEngineAction] {
        guard state != nil else { return [] }
        var output = Output()
        switch updates {
        case .updatesTooLong:
            requestDifference(&output)
        case .updateShortMessage(let short):
            handle(ShortUpdates.expand(short), users: [], chats: [], into: &output)
        case .updateShortChatMessage(let short):
            handle(ShortUpdates.expand(short), users: [], chats: [], into: &output)
        case .updateShortSentMessage(let short):
            handleCommon(PtsEntry(update: nil, pts: short.pts, count: short.ptsCount, users: [], chats: []), into: &output)
        case .updateShort(let short):
            handle(short.update, users: [], chats: [], into: &output)
        case .updates(let container):
            handleContainer(SeqEntry(updates: container.updates, users: container.users, chats: container.chats,
                                     date: container.date, seqStart: container.seq, seq: container.seq), into: &output)
        case .updatesCombined(let container):
            handleContainer(SeqEntry(updates: container.updates, users: container.users, chats: container.chats,
                                     date: container.date, seqStart: container.seqStart, seq: container.seq), into: &output)
        }
        return output.finished.actions
    }

    /// A short update (updateShortMessage / updateShortChatMessage) naming a user or chat the driver
    /// knows nothing about: it is not applied; the difference, which carries the users and chats, is
    /// fetched instead (after the running one, if any).
    public mutating func receiveWithoutEntities(_ updates: Api.Updates) -> [UpdateEngineAction] {
        guard let state else { return [] }
        let pts: Int32, count: Int32
        switch updates {
        case .updateShortMessage(let short): (pts, count) = (short.pts, short.ptsCount)
        case .updateShortChatMessage(let short): (pts, count) = (short.pts, short.ptsCount)
        default: return receive(updates)
        }
        guard state.pts + count <= pts else { return [] }  // already applied
        var output = Output()
        if fetchingDifference {
            differenceOwed = true
        } else {
            requestDifference(&output)
        }
        return output.finished.actions
    }

    /// A channel's pts from its dialog (messages.getDialogs): adopted only when we have none, so the
    /// channel's next update is checked against it.
    public mutating func learnChannelPts(_ channelId: Int64, pts: Int32) {
        guard state != nil, state?.channelPts[channelId] == nil, !fetchingChannels.contains(channelId) else { return }
        state?.channelPts[channelId] = pts
    }

    /// A method's messages.affectedMessages / affectedHistory (pts, pts_count): moves the common sequence.
    public mutating func receiveAffected(pts: Int32, ptsCount: Int32) -> [UpdateEngineAction] {
        guard state != nil else { return [] }
        var output = Output()
        handleCommon(PtsEntry(update: nil, pts: pts, count: ptsCount, users: [], chats: []), into: &output)
        return output.finished.actions
    }

    /// The connection came back or the server started a new session: updates may have been missed.
    public mutating func requestDifference() -> [UpdateEngineAction] {
        guard state != nil else { return [] }
        var output = Output()
        requestDifference(&output)
        return output.finished.actions
    }

    /// The timer asked for by `.waitForGap(key, token)` ran out.
    public mutating func gapTimerFired(_ key: GapKey, token: UInt64) -> [UpdateEngineAction] {
        guard state != nil, timers[key] == token else { return [] }
        timers[key] = nil
        var output = Output()
        switch key {
        case .common:
            if differenceOwed || !pendingPts.isEmpty || !pendingQts.isEmpty || !pendingSeq.isEmpty {
                requestDifference(&output)
            }
        case .channel(let id):
            if pendingChannels[id]?.isEmpty == false { requestChannelDifference(id, &output) }
        }
        return output.finished.actions
    }

    // MARK: Differences

    /// The answer to `.getDifference`.
    public mutating func applyDifference(_ difference: Api.updates.Difference) -> [UpdateEngineAction] {
        guard state != nil else { return [] }
        var output = Output()
        switch difference {
        case .differenceEmpty(let empty):
            state?.date = empty.date
            state?.seq = empty.seq
            finishDifference(&output)
        case .difference(let page):
            applyDifferencePage(page.newMessages, page.otherUpdates, page.users, page.chats, &output)
            adopt(page.state)
            finishDifference(&output)
        case .differenceSlice(let page):
            applyDifferencePage(page.newMessages, page.otherUpdates, page.users, page.chats, &output)
            adopt(page.intermediateState)
            continueDifference(&output)
        case .differenceTooLong(let tooLong):
            let since = state?.date ?? 0
            state?.pts = tooLong.pts
            output.actions.append(.differenceTooLong(since: since))
            continueDifference(&output)
        }
        return output.finished.actions
    }

    /// getDifference failed (connection, server): retry after a gap timeout.
    public mutating func differenceFailed() -> [UpdateEngineAction] {
        guard state != nil else { return [] }
        fetchingDifference = false
        differenceOwed = true
        var output = Output()
        armTimer(.common, &output)
        return output.finished.actions
    }

    /// The answer to `.getChannelDifference`.
    public mutating func applyChannelDifference(channelId: Int64, _ difference: Api.updates.ChannelDifference) -> [UpdateEngineAction] {
        guard state != nil else { return [] }
        var output = Output()
        switch difference {
        case .channelDifferenceEmpty(let empty):
            state?.channelPts[channelId] = empty.pts
            finishChannelDifference(channelId, final: empty.final, &output)
        case .channelDifference(let page):
            var batch = UpdateBatch(users: page.users, chats: page.chats)
            for message in page.newMessages {
                batch.updates.append(.updateNewChannelMessage(.init(message: message, pts: page.pts, ptsCount: 0)))
            }
            batch.updates += page.otherUpdates
            output.apply(batch)
            state?.channelPts[channelId] = page.pts
            finishChannelDifference(channelId, final: page.final, &output)
        case .channelDifferenceTooLong(let tooLong):
            var batch = UpdateBatch(users: tooLong.users, chats: tooLong.chats)
            let pts: Int32? = if case .dialog(let dialog) = tooLong.dialog { dialog.pts } else { nil }
            for message in tooLong.messages.reversed() {
                batch.updates.append(.updateNewChannelMessage(.init(message: message, pts: pts ?? 0, ptsCount: 0)))
            }
            output.apply(batch)
            if let pts { state?.channelPts[channelId] = pts }
            finishChannelDifference(channelId, final: tooLong.final || pts == nil, &output)
        }
        return output.finished.actions
    }

    /// getChannelDifference cannot be made (no access hash, channel private) or failed: apply what is
    /// buffered in pts order rather than lose it, and continue from there.
    public mutating func channelDifferenceFailed(channelId: Int64) -> [UpdateEngineAction] {
        guard state != nil else { return [] }
        fetchingChannels.remove(channelId)
        timers[.channel(channelId)] = nil
        var output = Output()
        let entries = (pendingChannels.removeValue(forKey: channelId) ?? []).sorted { $0.pts < $1.pts }
        for entry in entries where entry.pts > (state?.channelPts[channelId] ?? .min) {
            output.apply(entry)
            state?.channelPts[channelId] = entry.pts
        }
        return output.finished.actions
    }

    // MARK: Sequencing

    private struct Output {
        var batch = UpdateBatch()
        var actions: [UpdateEngineAction] = []

        mutating func apply(_ entry: PtsEntry) {
            batch.users += entry.users
            batch.chats += entry.chats
            if let update = entry.update { batch.updates.append(update) }
        }

        /// Flushes the batch collected so far (keeps apply/fetch order).
        mutating func apply(_ extra: UpdateBatch) {
            batch.updates += extra.updates
            batch.users += extra.users
            batch.chats += extra.chats
        }

        mutating func request(_ action: UpdateEngineAction) {
            if !batch.isEmpty {
                actions.append(.apply(batch))
                batch = UpdateBatch()
            }
            actions.append(action)
        }

        var finished: Output {
            var copy = self
            if !copy.batch.isEmpty {
                copy.actions.append(.apply(copy.batch))
                copy.batch = UpdateBatch()
            }
            return copy
        }
    }

    private mutating func handleContainer(_ entry: SeqEntry, into output: inout Output) {
        guard let local = state?.seq else { return }
        if entry.seqStart == 0 {
            applyContainer(entry, into: &output)
        } else if fetchingDifference {
            insertSeq(entry)
        } else if local + 1 == entry.seqStart {
            applyContainer(entry, into: &output)
            drainSeq(into: &output)
        } else if local + 1 > entry.seqStart {
            // Already applied: ignore.
        } else {
            insertSeq(entry)
            armTimer(.common, &output)
        }
    }

    private mutating func applyContainer(_ entry: SeqEntry, into output: inout Output) {
        // The container's users and chats travel with its first update so names are known when applied.
        var users = entry.users
        var chats = entry.chats
        if entry.updates.isEmpty {
            output.batch.users += users
            output.batch.chats += chats
        }
        for update in entry.updates {
            handle(update, users: users, chats: chats, into: &output)
            users = []
            chats = []
        }
        if entry.seq != 0 {
            state?.seq = entry.seq
            let date = max(state?.date ?? 0, entry.date)
            state?.date = date
        }
    }

    private mutating func handle(_ update: Api.Update, users: [Api.User], chats: [Api.Chat], into output: inout Output) {
        switch UpdateSequence(update) {
        case .common(let pts, let count):
            handleCommon(PtsEntry(update: update, pts: pts, count: count, users: users, chats: chats), into: &output)
        case .qts(let qts):
            handleQts(PtsEntry(update: update, pts: qts, count: 1, users: users, chats: chats), into: &output)
        case .channel(let id, let pts, let count):
            handleChannel(id, PtsEntry(update: update, pts: pts, count: count, users: users, chats: chats), into: &output)
        case .none:
            if case .updateChannelTooLong(let tooLong) = update {
                output.batch.users += users
                output.batch.chats += chats
                // Without a pts of our own (a channel joined while away, or silent since the login) the
                // channel is read from its start: the server answers its latest messages at most.
                requestChannelDifference(tooLong.channelId, &output, from: state?.channelPts[tooLong.channelId] ?? 1)
            } else if case .updatePtsChanged = update {
                output.batch.users += users
                output.batch.chats += chats
                requestDifference(&output)
            } else {
                output.apply(PtsEntry(update: update, pts: 0, count: 0, users: users, chats: chats))
            }
        }
    }

    private mutating func handleCommon(_ entry: PtsEntry, into output: inout Output) {
        guard let local = state?.pts else { return }
        if fetchingDifference {
            insert(entry, into: &pendingPts)
        } else if local + entry.count == entry.pts {
            output.apply(entry)
            state?.pts = entry.pts
            drainCommon(into: &output)
        } else if local + entry.count > entry.pts {
            // Already applied: ignore.
        } else {
            insert(entry, into: &pendingPts)
            armTimer(.common, &output)
        }
    }

    private mutating func handleQts(_ entry: PtsEntry, into output: inout Output) {
        guard let local = state?.qts else { return }
        if fetchingDifference {
            insert(entry, into: &pendingQts)
        } else if local + 1 == entry.pts {
            output.apply(entry)
            state?.qts = entry.pts
            drainCommon(into: &output)
        } else if local + 1 > entry.pts {
            // Already applied.
        } else {
            insert(entry, into: &pendingQts)
            armTimer(.common, &output)
        }
    }

    private mutating func handleChannel(_ id: Int64, _ entry: PtsEntry, into output: inout Output) {
        guard state != nil else { return }
        guard let local = state?.channelPts[id] else {
            // First update of a channel we have no pts for: it starts the channel's sequence.
            output.apply(entry)
            state?.channelPts[id] = entry.pts
            return
        }
        if fetchingChannels.contains(id) {
            pendingChannels[id, default: []].append(entry)
            pendingChannels[id]?.sort { $0.pts < $1.pts }
        } else if local + entry.count == entry.pts {
            output.apply(entry)
            state?.channelPts[id] = entry.pts
            drainChannel(id, into: &output)
        } else if local + entry.count > entry.pts {
            // Already applied.
        } else {
            pendingChannels[id, default: []].append(entry)
            pendingChannels[id]?.sort { $0.pts < $1.pts }
            armTimer(.channel(id), &output)
        }
    }

    private func insert(_ entry: PtsEntry, into list: inout [PtsEntry]) {
        let index = list.firstIndex { $0.pts > entry.pts } ?? list.endIndex
        list.insert(entry, at: index)
    }

    private mutating func insertSeq(_ entry: SeqEntry) {
        let index = pendingSeq.firstIndex { $0.seqStart > entry.seqStart } ?? pendingSeq.endIndex
        pendingSeq.insert(entry, at: index)
    }

    /// Applies buffered common updates that now follow on, drops those already applied; stops at a gap.
    private mutating func drainCommon(into output: inout Output) {
        guard !fetchingDifference else { return }
        var progressed = true
        while progressed {
            progressed = false
            while let first = pendingPts.first, let local = state?.pts {
                if local + first.count == first.pts {
                    pendingPts.removeFirst()
                    output.apply(first)
                    state?.pts = first.pts
                    progressed = true
                } else if local + first.count > first.pts {
                    pendingPts.removeFirst()
                } else {
                    break
                }
            }
            while let first = pendingQts.first, let local = state?.qts {
                if local + 1 == first.pts {
                    pendingQts.removeFirst()
                    output.apply(first)
                    state?.qts = first.pts
                    progressed = true
                } else if local + 1 > first.pts {
                    pendingQts.removeFirst()
                } else {
                    break
                }
            }
        }
        if pendingPts.isEmpty && pendingQts.isEmpty && pendingSeq.isEmpty && !differenceOwed { timers[.common] = nil }
    }

    private mutating func drainSeq(into output: inout Output) {
        while let first = pendingSeq.first, let local = state?.seq {
            if local + 1 == first.seqStart {
                pendingSeq.removeFirst()
                applyContainer(first, into: &output)
            } else if local + 1 > first.seqStart {
                pendingSeq.removeFirst()
            } else {
                break
            }
        }
        drainCommon(into: &output)
    }

    private mutating func drainChannel(_ id: Int64, into output: inout Output) {
        while let first = pendingChannels[id]?.first, let local = state?.channelPts[id] {
            if local + first.count == first.pts {
                pendingChannels[id]?.removeFirst()
                output.apply(first)
                state?.channelPts[id] = first.pts
            } else if local + first.count > first.pts {
                pendingChannels[id]?.removeFirst()
            } else {
                break
            }
        }
        if pendingChannels[id]?.isEmpty ?? true {
            pendingChannels[id] = nil
            timers[.channel(id)] = nil
        }
    }

    private mutating func armTimer(_ key: GapKey, _ output: inout Output) {
        guard timers[key] == nil else { return }
        nextToken += 1
        timers[key] = nextToken
        output.request(.waitForGap(key, token: nextToken))
    }

    private mutating func requestDifference(_ output: inout Output) {
        differenceOwed = false
        timers[.common] = nil
        guard !fetchingDifference, let state else { return }
        fetchingDifference = true
        output.request(.getDifference(pts: state.pts, qts: state.qts, date: state.date))
    }

    private mutating func continueDifference(_ output: inout Output) {
        guard let state else { return }
        output.request(.getDifference(pts: state.pts, qts: state.qts, date: state.date))
    }

    private mutating func requestChannelDifference(_ id: Int64, _ output: inout Output, from start: Int32? = nil) {
        timers[.channel(id)] = nil
        guard !fetchingChannels.contains(id), let pts = start ?? state?.channelPts[id] else { return }
        fetchingChannels.insert(id)
        output.request(.getChannelDifference(channelId: id, pts: pts))
    }

    private mutating func adopt(_ remote: Api.updates.State) {
        guard case .state(let remote) = remote else { return }
        state?.pts = remote.pts
        state?.qts = remote.qts
        state?.date = remote.date
        state?.seq = remote.seq
    }

    /// Messages first (after updateMessageID, which maps our random ids to them), then the other updates;
    /// common-sequence updates in a difference are covered by its state, channel ones keep their own checks.
    private mutating func applyDifferencePage(_ messages: [Api.Message], _ others: [Api.Update], _ users: [Api.User],
                                              _ chats: [Api.Chat], _ output: inout Output) {
        output.batch.users += users
        output.batch.chats += chats
        for update in others {
            if case .updateMessageID = update { output.batch.updates.append(update) }
        }
        for message in messages {
            if let channel = UpdateSequence.channel(of: message) {
                let pts = state?.channelPts[channel] ?? 0
                output.batch.updates.append(.updateNewChannelMessage(.init(message: message, pts: pts, ptsCount: 0)))
            } else {
                output.batch.updates.append(.updateNewMessage(.init(message: message, pts: state?.pts ?? 0, ptsCount: 0)))
            }
        }
        for update in others {
            if case .updateMessageID = update { continue }
            switch UpdateSequence(update) {
            case .channel:
                handle(update, users: [], chats: [], into: &output)
            case .none:
                if case .updateChannelTooLong = update {
                    handle(update, users: [], chats: [], into: &output)
                } else {
                    output.batch.updates.append(update)
                }
            case .common, .qts:
                output.batch.updates.append(update)
            }
        }
    }

    private mutating func finishDifference(_ output: inout Output) {
        let owed = differenceOwed
        fetchingDifference = false
        differenceOwed = false
        drainSeq(into: &output)
        if owed {
            requestDifference(&output)
        } else if hasCommonGap {
            armTimer(.common, &output)
        }
    }

    private var hasCommonGap: Bool { !pendingPts.isEmpty || !pendingQts.isEmpty || !pendingSeq.isEmpty }

    private mutating func finishChannelDifference(_ id: Int64, final: Bool, _ output: inout Output) {
        if !final, let pts = state?.channelPts[id] {
            output.request(.getChannelDifference(channelId: id, pts: pts))
            return
        }
        fetchingChannels.remove(id)
        drainChannel(id, into: &output)
        if pendingChannels[id]?.isEmpty == false { armTimer(.channel(id), &output) }
    }
}
