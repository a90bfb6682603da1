import Foundation
import TelegramAPI

/// Drives the `UpdateEngine`: feeds it what the server pushes and what methods return, performs
/// what it asks (gap timers, getDifference, getChannelDifference) and turns applied updates into events.
extension TelegramClient {
    /// Logged in and not receiving yet: start from the saved state (getDifference) or from updates.getState.
    func startUpdatesIfNeeded() async throws {
        guard isLoggedIn, !updatesRunning else { return }
        if let saved = session.updateState {
            engine.start(saved)
            updatesRunning = true
            // The first difference is awaited, so a revoked authorization fails connect() itself.
            var actions = engine.requestDifference()
            if case .getDifference(let pts, let qts, let date)? = actions.first {
                actions.removeFirst()
                run(actions)
                do {
                    try await fetchDifference(pts: pts, qts: qts, date: date)
                } catch .loggedOut(let reason) {
                    throw TelegramClientError.loggedOut(reason)
                } catch {
                    // The engine retries after the gap timeout.
                }
            } else {
                run(actions)
            }
        } else {
            guard case .state(let remote) = try await call(Api.Functions.updates.GetState()) else { return }
            guard isLoggedIn, !updatesRunning else { return }
            engine.start(UpdateState(pts: remote.pts, qts: remote.qts, date: remote.date, seq: remote.seq))
            updatesRunning = true
            flushState()
        }
    }

    /// Stops receiving; the engine's state is kept in the session for the next start.
    func stopUpdates() {
        if updatesRunning, let updateState = engine.state { session.updateState = updateState }
        updatesRunning = false
        engine.stop()
    }

    func receive(_ updates: Api.Updates) {
        if qrLogin != nil, Self.containsLoginToken(updates) { loginTokenAccepted() }
        guard updatesRunning else { return }
        if directory.lacksEntities(for: updates) {
            run(engine.receiveWithoutEntities(updates))
        } else {
            run(engine.receive(updates))
        }
    }

    func run(_ actions: [UpdateEngineAction]) {
        // differenceTooLong is followed by the next getDifference: re-read history first, then go on,
        // so the refetched messages come before newer ones.
        var refetchSince: Int32?
        for action in actions {
            switch action {
            case .apply(let batch):
                apply(batch)
            case .waitForGap(let key, let token):
                let timeout = configuration.updateGapTimeout
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    await self?.gapTimerFired(key, token: token)
                }
            case .getDifference(let pts, let qts, let date):
                let since = refetchSince
                refetchSince = nil
                Task { [weak self] in
                    if let since { await self?.refetchRecentHistory(since: since) }
                    try? await self?.fetchDifference(pts: pts, qts: qts, date: date)
                }
            case .getChannelDifference(let channelId, let pts):
                Task { [weak self] in await self?.fetchChannelDifference(channelId: channelId, pts: pts) }
            case .differenceTooLong(let since):
                refetchSince = since
            }
        }
        if let since = refetchSince {
            Task { [weak self] in await self?.refetchRecentHistory(since: since) }
        }
    }

    private func gapTimerFired(_ key: GapKey, token: UInt64) {
        guard updatesRunning else { return }
        run(engine.gapTimerFired(key, token: token))
    }

    /// One getDifference page; on failure the engine is told (it retries) and the error rethrown.
    private func fetchDifference(pts: Int32, qts: Int32, date: Int32) async throws(TelegramClientError) {
        guard updatesRunning else { return }
        let difference: Api.updates.Difference
        do {
            difference = try await call(Api.Functions.updates.GetDifference(pts: pts, date: date, qts: qts))
        } catch {
            if updatesRunning { run(engine.differenceFailed()) }
            throw error
        }
        guard updatesRunning else { return }
        run(engine.applyDifference(difference))
        flushState()
    }

    private func fetchChannelDifference(channelId: Int64, pts: Int32) async {
        guard updatesRunning else { return }
        guard let channel = directory.inputChannel(channelId) else {
            run(engine.channelDifferenceFailed(channelId: channelId))
            return
        }
        let difference: Api.updates.ChannelDifference
        do {
            difference = try await call(Api.Functions.updates.GetChannelDifference(
                channel: channel, filter: .channelMessagesFilterEmpty(.init()), pts: pts, limit: 100))
        } catch {
            guard updatesRunning else { return }
            run(engine.channelDifferenceFailed(channelId: channelId))
            return
        }
        guard updatesRunning else { return }
        run(engine.applyChannelDifference(channelId: channelId, difference))
        flushState()
    }

    /// updates.differenceTooLong: best effort, re-read the newest history of the recent dialogs and
    /// emit messages dated at or after `since` that were not emitted yet.
    private func refetchRecentHistory(since: Int32) async {
        guard updatesRunning, let page = try? await dialogs(limit: 100, cursor: nil) else { return }
        let sinceDate = Date(timeIntervalSince1970: TimeInterval(since))
        for dialog in page.dialogs where (dialog.lastMessage?.date ?? .distantPast) >= sinceDate {
            guard updatesRunning, let peer = try? directory.inputPeer(dialog.chatId),
                  let history = try? await call(Api.Functions.messages.GetHistory(
                    peer: peer, offsetId: 0, offsetDate: 0, addOffset: 0, limit: 50, maxId: 0, minId: 0, hash: 0)) else { continue }
            let (messages, users, chats) = Self.contents(of: history)
            learn(users: users, chats: chats)
            let converter = MessageConverter(peers: directory, selfUserId: session.userId)
            for message in messages.compactMap(converter.convert).filter({ $0.date >= sinceDate }).sorted(by: { $0.id < $1.id }) {
                emitNew(message)
            }
        }
    }

    /// Turns applied updates into events, in order; then asks for the state to be announced.
    private func apply(_ batch: UpdateBatch) {
        learn(users: batch.users, chats: batch.chats)
        let converter = MessageConverter(peers: directory, selfUserId: session.userId)
        for update in batch.updates {
            switch update {
            case .updateNewMessage(let u):
                if let message = converter.convert(u.message) { emitNew(message) }
            case .updateNewChannelMessage(let u):
                if let message = converter.convert(u.message) { emitNew(message) }
            case .updateEditMessage(let u):
                if let message = converter.convert(u.message) { eventSink.yield(.messageEdited(message)) }
            case .updateEditChannelMessage(let u):
                if let message = converter.convert(u.message) { eventSink.yield(.messageEdited(message)) }
            case .updateDeleteMessages(let u):
                eventSink.yield(.messagesDeleted(chatId: nil, ids: u.messages))
            case .updateDeleteChannelMessages(let u):
                eventSink.yield(.messagesDeleted(chatId: ChatID.channel(u.channelId), ids: u.messages))
            case .updateReadHistoryOutbox(let u):
                eventSink.yield(.readOutbox(chatId: ChatID.of(u.peer), maxId: u.maxId))
            case .updateReadChannelOutbox(let u):
                eventSink.yield(.readOutbox(chatId: ChatID.channel(u.channelId), maxId: u.maxId))
            default:
                break
            }
        }
        scheduleStateFlush()
    }

    private func emitNew(_ message: TelegramMessage) {
        guard ledger.insert(chatId: message.chatId, id: message.id) else { return }
        eventSink.yield(.newMessage(message))
    }
}
