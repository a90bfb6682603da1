// The Telegram client: login, dialogs, send, updates (see docs/ARCHITECTURE.md).
import Foundation
import MTProto
import MTProtoNetwork
import TLRuntime
import TelegramAPI

/// One Telegram account over MTProto: connects to its home data center (creating an auth key there
/// when there is none), logs in (code, 2FA, DC migration), lists dialogs, sends and marks read,
/// and streams updates in order with gap recovery. Everything that must survive a restart is in
/// `state` and announced through `.stateChanged`.
///
/// Files: this one holds the connection (senders, RPC with FLOOD_WAIT and migration, loss of the
/// authorization, reconnect); `+Login`, `+QRLogin`, `+Messaging` and `+Updates` the rest.
public actor TelegramClient {
    public nonisolated let events: AsyncStream<TelegramEvent>
    public let configuration: TelegramClientConfiguration

    let eventSink: AsyncStream<TelegramEvent>.Continuation
    var session: TelegramSessionState
    var engine = UpdateEngine()
    var ledger = MessageLedger()
    var directory: PeerDirectory
    /// Receiving updates (logged in and the engine started from getState or the saved state).
    var updatesRunning = false
    var login: PendingLogin?
    /// A QR login waiting for its code to be scanned (`+QRLogin`).
    var qrLogin: QRLoginSession?
    /// Messages sent by this client by random id (RANDOM_ID_DUPLICATE answers with the original).
    var sentByRandomId: [Int64: TelegramMessage] = [:]

    var sender: MTProtoSender?
    var senderDc: Int32?
    private var senderTask: Task<Void, Never>?
    /// Addresses from help.getConfig for data centers the configuration does not list.
    private var learnedAddresses: [Int32: DataCenterAddress] = [:]
    private var wantsConnection = false
    private var retryTask: Task<Void, Never>?
    private var flushTask: Task<Void, Never>?
    private var lastEmittedState: TelegramSessionState?

    public init(configuration: TelegramClientConfiguration, state: TelegramSessionState?) {
        self.configuration = configuration
        let session = state ?? TelegramSessionState(homeDataCenter: configuration.initialDataCenter)
        self.session = session
        directory = PeerDirectory(peers: session.peers)
        (events, eventSink) = AsyncStream<TelegramEvent>.makeStream()
    }

    deinit {
        eventSink.finish()
    }

    public var isLoggedIn: Bool { session.userId != nil }
    public var user: TelegramUser? { session.userId == nil ? nil : session.user }

    /// The state to persist: keys, user, the update state as far as its messages were emitted, peers.
    public var state: TelegramSessionState {
        var state = session
        state.peers = directory.peers
        if updatesRunning, let updateState = engine.state { state.updateState = updateState }
        return state
    }

    // MARK: Connecting

    /// Connects to the home data center (auth key exchange if there is no key there) and sends
    /// invokeWithLayer(initConnection(help.getConfig)); when logged in, starts receiving updates
    /// (updates.getState on a fresh login, getDifference when resuming a saved state).
    public func connect() async throws {
        wantsConnection = true
        retryTask?.cancel()
        retryTask = nil
        if let sender, await sender.isConnected, senderDc == session.homeDataCenter {
            try await startUpdatesIfNeeded()
            return
        }
        try await useDataCenter(session.homeDataCenter)
        eventSink.yield(.connection(.connected))
        try await startUpdatesIfNeeded()
    }

    /// Closes the connection (the state is announced once more). `connect()` resumes.
    public func disconnect() async {
        wantsConnection = false
        retryTask?.cancel()
        retryTask = nil
        stopUpdates()
        cancelQRLogin()
        let old = detachSender()
        await old?.close()
        flushState()
        eventSink.yield(.connection(.disconnected(reason: "disconnected by the client")))
    }

    /// Makes `dc` the data center of the current sender: reuses the sender when it already talks
    /// to `dc` (reconnecting it), otherwise replaces it (keeping every key in the state).
    func useDataCenter(_ dc: Int32, attempt: Int = 0) async throws {
        if let sender, senderDc == dc {
            do {
                try await sender.connect()
            } catch {
                throw Self.mapTransport(error)
            }
            try await initializeConnection(sender, dc: dc, attempt: attempt)
            return
        }
        guard let configuration = senderConfiguration(dc) else {
            throw TelegramClientError.invalidState("no address known for data center \(dc)")
        }
        let old = detachSender()
        if let old { await old.close() }
        let authorization = session.dataCenters[dc].flatMap(AuthorizationState.init)
        let sender = MTProtoSender(configuration: configuration, authorization: authorization)
        self.sender = sender
        senderDc = dc
        listen(to: sender, dc: dc)
        do {
            try await sender.connect()
        } catch {
            throw Self.mapTransport(error)
        }
        if let authorization = await sender.authorization, session.dataCenters[dc] != StoredAuthorization(authorization) {
            session.dataCenters[dc] = StoredAuthorization(authorization)
            flushState()
        }
        try await initializeConnection(sender, dc: dc, attempt: attempt)
    }

    /// invokeWithLayer(initConnection(help.getConfig)), once per connection.
    private func initializeConnection(_ sender: MTProtoSender, dc: Int32, attempt: Int) async throws {
        let query = Api.Functions.InvokeWithLayer(layer: configuration.layer, query: Api.Functions.InitConnection(
            apiId: configuration.apiId, deviceModel: configuration.deviceModel, systemVersion: configuration.systemVersion,
            appVersion: configuration.appVersion, systemLangCode: configuration.systemLangCode, langPack: "",
            langCode: configuration.langCode, query: Api.Functions.help.GetConfig()))
        do {
            let config = try await sender.invoke(query)
            learn(config)
        } catch SenderError.authKeyRejected {
            try await keyRejected(dc: dc, attempt: attempt)
        } catch let error as RPCError {
            throw TelegramClientError(error)
        } catch {
            throw Self.mapTransport(error)
        }
    }

    /// The data center does not know our key (-404): when logged in, the authorization is gone;
    /// otherwise make a new key there.
    private func keyRejected(dc: Int32, attempt: Int) async throws {
        if isLoggedIn {
            authorizationLost("AUTH_KEY_UNREGISTERED")
            throw TelegramClientError.loggedOut("AUTH_KEY_UNREGISTERED")
        }
        guard attempt < 2 else { throw TelegramClientError.connection("data center \(dc) keeps rejecting new auth keys") }
        session.dataCenters[dc] = nil
        let old = detachSender()
        await old?.close()
        try await useDataCenter(dc, attempt: attempt + 1)
    }

    private func learn(_ config: Api.Config) {
        guard case .config(let config) = config else { return }
        for case .dcOption(let option) in config.dcOptions
        where !option.ipv6 && !option.mediaOnly && !option.cdn && !option.tcpoOnly && option.secret == nil {
            if configuration.dataCenters[option.id] == nil && learnedAddresses[option.id] == nil {
                learnedAddresses[option.id] = DataCenterAddress(host: option.ipAddress, port: Int(option.port))
            }
        }
    }

    private func senderConfiguration(_ dc: Int32) -> SenderConfiguration? {
        var configuration = self.configuration
        if configuration.dataCenters[dc] == nil, let learned = learnedAddresses[dc] { configuration.dataCenters[dc] = learned }
        return configuration.senderConfiguration(dc: dc)
    }

    /// Forgets the current sender without closing it (the caller closes it); its events are ignored from now on.
    private func detachSender() -> MTProtoSender? {
        let old = sender
        sender = nil
        senderDc = nil
        senderTask?.cancel()
        senderTask = nil
        return old
    }

    private func listen(to sender: MTProtoSender, dc: Int32) {
        senderTask?.cancel()
        senderTask = Task { [weak self] in
            for await event in sender.events {
                guard let self else { return }
                await self.handle(event, from: sender, dc: dc)
            }
        }
    }

    private func handle(_ event: SenderEvent, from origin: MTProtoSender, dc: Int32) async {
        guard origin === sender else { return }
        switch event {
        case .update(let bytes):
            guard let updates = try? Api.Updates(tlBytes: bytes) else { return }
            receive(updates)
        case .newSession:
            if updatesRunning { run(engine.requestDifference()) }
        case .authorizationChanged(let authorization):
            let stored = StoredAuthorization(authorization)
            if session.dataCenters[dc] != stored {
                session.dataCenters[dc] = stored
                scheduleStateFlush()
            }
        case .connectionLost:
            eventSink.yield(.connection(.reconnecting))
        case .reconnected:
            eventSink.yield(.connection(.connected))
            await resumeAfterReconnect(origin, dc: dc)
        case .closed(let reason):
            if reason.contains("-404") {
                if isLoggedIn {
                    authorizationLost("AUTH_KEY_UNREGISTERED")
                } else {
                    session.dataCenters[dc] = nil
                    _ = detachSender()
                    eventSink.yield(.connection(.disconnected(reason: reason)))
                    scheduleRetry()
                }
                return
            }
            eventSink.yield(.connection(.disconnected(reason: reason)))
            scheduleRetry()
        }
    }

    private func resumeAfterReconnect(_ origin: MTProtoSender, dc: Int32) async {
        do {
            try await initializeConnection(origin, dc: dc, attempt: 0)
            if updatesRunning {
                run(engine.requestDifference())
            } else {
                try await startUpdatesIfNeeded()
            }
        } catch {
            // A lost authorization was handled; anything else shows up in the next call.
        }
    }

    /// After the sender gave up reconnecting: try again every `disconnectedRetryInterval`.
    private func scheduleRetry() {
        guard wantsConnection, retryTask == nil, isLoggedIn || login != nil || sender != nil else { return }
        let interval = configuration.disconnectedRetryInterval
        retryTask = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                if await self.retryConnection() { return }
            }
        }
    }

    private func retryConnection() async -> Bool {
        guard wantsConnection else { return true }
        do {
            try await useDataCenter(session.homeDataCenter)
            retryTask = nil
            eventSink.yield(.connection(.connected))
            if updatesRunning {
                run(engine.requestDifference())
            } else {
                try await startUpdatesIfNeeded()
            }
            return true
        } catch TelegramClientError.loggedOut {
            retryTask = nil
            return true
        } catch {
            return false
        }
    }

    // MARK: Calls

    /// Invokes `function` on the home data center: FLOOD_WAIT up to the threshold is slept off and
    /// retried, *_MIGRATE_X moves the home data center and retries, a lost authorization logs out.
    func call<F: TLFunction>(_ function: F) async throws(TelegramClientError) -> F.Result {
        var migrations = 0
        var newKeys = 0
        while true {
            guard let sender, let dc = senderDc else { throw .connection("not connected (call connect())") }
            do {
                return try await sender.invoke(function)
            } catch let error as RPCError {
                if let seconds = error.floodWaitSeconds {
                    guard Duration.seconds(seconds) <= configuration.floodWaitThreshold else { throw .floodWait(seconds: seconds) }
                    do {
                        try await Task.sleep(for: .seconds(max(seconds, 0)))
                    } catch {
                        throw .floodWait(seconds: seconds)
                    }
                    continue
                }
                if let migration = error.migration, [.phone, .user, .network].contains(migration.kind) {
                    guard migrations < 3 else { throw TelegramClientError(error) }
                    migrations += 1
                    try await migrate(to: Int32(migration.dc))
                    continue
                }
                if TelegramClientError.isAuthorizationLoss(error) {
                    if isLoggedIn {
                        authorizationLost(error.message)
                        throw .loggedOut(error.message)
                    }
                    throw error.message == "AUTH_KEY_UNREGISTERED" ? .notLoggedIn : .loggedOut(error.message)
                }
                throw TelegramClientError(error)
            } catch SenderError.authKeyRejected {
                if isLoggedIn {
                    authorizationLost("AUTH_KEY_UNREGISTERED")
                    throw .loggedOut("AUTH_KEY_UNREGISTERED")
                }
                guard newKeys < 2 else { throw .connection("data center \(dc) rejects our auth keys") }
                newKeys += 1
                session.dataCenters[dc] = nil
                let old = detachSender()
                await old?.close()
                try await typed { try await self.useDataCenter(dc) }
            } catch let error as TLError {
                throw .invalidState("undecodable answer to \(F.self): \(error)")
            } catch {
                throw Self.mapTransport(error)
            }
        }
    }

    /// *_MIGRATE_X: the account (or this phone number) lives on data center `dc`. A logged-in
    /// account takes its authorization along (auth.exportAuthorization / importAuthorization).
    private func migrate(to dc: Int32) async throws(TelegramClientError) {
        guard dc != senderDc else { throw .invalidState("asked to migrate to the data center we are on (\(dc))") }
        var exported: Api.Types.auth.ExportedAuthorization?
        if isLoggedIn, let sender,
           case .exportedAuthorization(let value)? = try? await sender.invoke(Api.Functions.auth.ExportAuthorization(dcId: dc)) {
            exported = value
        }
        session.homeDataCenter = dc
        try await typed { try await self.useDataCenter(dc) }
        if let exported, let sender {
            _ = try? await sender.invoke(Api.Functions.auth.ImportAuthorization(id: exported.id, bytes: exported.bytes))
        }
        flushState()
    }

    /// Runs `body`, which throws only `TelegramClientError` by construction, with a typed error.
    private func typed(_ body: () async throws -> Void) async throws(TelegramClientError) {
        do {
            try await body()
        } catch let error as TelegramClientError {
            throw error
        } catch {
            throw Self.mapTransport(error)
        }
    }

    static func mapTransport(_ error: Error) -> TelegramClientError {
        switch error {
        case let error as TelegramClientError: error
        case let error as SenderError: TelegramClientError(error)
        case let error as RPCError: TelegramClientError(error)
        default: .connection("\(error)")
        }
    }

    func requireLoggedIn() throws(TelegramClientError) {
        guard isLoggedIn else { throw .notLoggedIn }
    }

    /// AUTH_KEY_UNREGISTERED, SESSION_REVOKED, AUTH_KEY_DUPLICATED, …: the user is gone for good.
    /// Clears the user, drops the dead key, stops everything, keeps the rest of the state; never retried.
    func authorizationLost(_ reason: String) {
        guard isLoggedIn else { return }
        if updatesRunning, let updateState = engine.state { session.updateState = updateState }
        session.userId = nil
        session.user = nil
        session.dataCenters[session.homeDataCenter] = nil
        updatesRunning = false
        engine.stop()
        login = nil
        wantsConnection = false
        retryTask?.cancel()
        retryTask = nil
        if let old = detachSender() { Task { await old.close() } }
        eventSink.yield(.loggedOut(reason: reason))
        flushState()
    }

    // MARK: State announcements

    /// Announces the state now (after a login, a key, a difference page).
    func flushState() {
        flushTask?.cancel()
        flushTask = nil
        let current = state
        guard current != lastEmittedState else { return }
        lastEmittedState = current
        eventSink.yield(.stateChanged(current))
    }

    /// Announces the state within `stateCoalescingInterval` (update bursts).
    func scheduleStateFlush() {
        guard flushTask == nil else { return }
        let interval = configuration.stateCoalescingInterval
        flushTask = Task { [weak self] in
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { return }
            await self?.flushState()
        }
    }
}

struct PendingLogin {
    var phone: String
    var phoneCodeHash: String
    var awaitingPassword = false
}

extension AuthorizationState {
    init?(_ stored: StoredAuthorization) {
        guard let key = AuthKey(Array(stored.authKey)) else { return nil }
        self.init(authKey: key, salt: stored.salt, timeOffset: stored.timeOffset)
    }
}

extension StoredAuthorization {
    init(_ authorization: AuthorizationState) {
        self.init(authKey: Data(authorization.authKey.bytes), salt: authorization.salt, timeOffset: authorization.timeOffset)
    }
}
