import Foundation
import GatewayModel
import Logging
import Synchronization

/// The real-time hub: a Socket.IO v4 server (Engine.IO v4 over HTTP long-polling and
/// WebSocket) with JWT auth, rooms per organization/user/chat/account, heartbeats, limits and
/// missed-event recovery. Transports (HubRoutes) feed it text packets; it answers through each
/// connection's outbox. System events arrive from the event bus's `hub` topic.
public final class Hub: Sendable {
    let config: HubConfig
    private let authenticator: any Authenticator
    private let store: any GatewayStore
    private let accounts: AccountDirectory
    private let logger: Logger
    /// Cluster mode (`hub.redis.url`): events, recovery and connection counts go through it.
    private let backplane: (any HubBackplane)?
    private let state = Mutex(State())
    /// Offsets continue across restarts: each organization's counter starts at the start time
    /// in microseconds, so a client's offset from a previous run is simply "too old".
    private let offsetBase = Int(Date().timeIntervalSince1970 * 1_000_000)

    struct State {
        var connections: [String: HubConnection] = [:]
        /// Room → its members (sid → connection): a broadcast walks the connections directly.
        var rooms: [String: [String: HubConnection]] = [:]
        var perOrganization: [String: Int] = [:]
        var logs: [String: RecoveryLog] = [:]
        var offsets: [String: Int] = [:]
        /// Cluster mode: the newest cluster offset delivered per organization.
        var delivered: [String: Int] = [:]
        /// Cluster mode: live events held for connections whose replay is being fetched.
        var pending: [String: [(offset: Int, packet: HubFrame)]] = [:]
    }

    init(config: HubConfig, authenticator: any Authenticator, store: any GatewayStore, accounts: AccountDirectory, logger: Logger,
         backplane: (any HubBackplane)? = nil)
    {
        self.config = config
        self.backplane = backplane
        self.authenticator = authenticator
        self.store = store
        self.accounts = accounts
        var logger = logger
        logger[metadataKey: "component"] = "hub"
        self.logger = logger
    }

    // MARK: - Sessions

    /// A new Engine.IO session; its open packet is already queued.
    func open(transport: HubConnection.Transport) -> HubConnection {
        let connection = HubConnection(transport: transport)
        state.withLock { $0.connections[connection.sid] = connection }
        let handshake: JSONValue = [
            "sid": .string(connection.sid), "upgrades": transport == .polling ? ["websocket"] : [],
            "pingInterval": .number(Double(config.pingIntervalMilliseconds)),
            "pingTimeout": .number(Double(config.pingTimeoutMilliseconds)), "maxPayload": .number(Double(config.maxPayload)),
        ]
        connection.send(.open(String(decoding: (try? JSONEncoder().encode(handshake)) ?? Data(), as: UTF8.self)))
        return connection
    }

    func connection(sid: String) -> HubConnection? {
        state.withLock { $0.connections[sid] }
    }

    /// Ends a session: leaves every room, frees the organization's slot, closes the outbox.
    func close(_ connection: HubConnection, reason: String) {
        let (wasOpen, principal) = connection.state.withLock { state -> (Bool, Principal?) in
            defer { state.closed = true }
            return (!state.closed, state.principal)
        }
        guard wasOpen else { return }
        let rooms = connection.state.withLock { $0.rooms }
        state.withLock { state in
            state.connections[connection.sid] = nil
            state.pending[connection.sid] = nil
            for room in rooms {
                state.rooms[room]?.removeValue(forKey: connection.sid)
                if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
            }
            if let organization = principal?.organizationId {
                state.perOrganization[organization, default: 1] -= 1
                if state.perOrganization[organization] == 0 { state.perOrganization[organization] = nil }
            }
        }
        connection.outbox.close()
        if let principal {
            backplane?.connectionCountChanged(organization: principal.organizationId)
            logger.info("disconnected \(connection.socketId) user \(principal.userId) org \(principal.organizationId): \(reason)")
        }
    }

    /// Connections in total and per organization (for /health).
    var connectionCounts: (total: Int, perOrganization: [String: Int]) {
        state.withLock { ($0.connections.count, $0.perOrganization) }
    }

    // MARK: - Inbound packets

    /// Handles one Engine.IO packet from the client; malformed input closes the session.
    func receive(_ text: Substring, on connection: HubConnection) async {
        if let message = receiveTransport(text, on: connection) { await receive(message: message, on: connection) }
    }

    /// The part of `receive` that never waits: Engine.IO's own packets (ping, pong, close, …) are
    /// handled here; a Socket.IO message is returned for `receive(message:on:)`.
    func receiveTransport(_ text: Substring, on connection: HubConnection) -> String? {
        let now = ContinuousClock.now
        connection.state.withLock { $0.lastSeen = now }
        do {
            switch try EngineIOPacket(parsing: text) {
            case .ping(let data):
                connection.send(.pong(data))
            case .pong:
                connection.state.withLock { $0.pingSentAt = nil }
            case .message(let payload):
                return payload
            case .close:
                close(connection, reason: "client closed")
            case .upgrade, .noop, .open:
                break
            }
        } catch {
            malformed(error, on: connection)
        }
        return nil
    }

    /// A Socket.IO packet (an Engine.IO message's payload).
    func receive(message payload: String, on connection: HubConnection) async {
        do {
            try await receive(try SocketIOPacket(parsing: payload, maxLength: config.maxPayload), on: connection)
        } catch {
            malformed(error, on: connection)
        }
    }

    private func malformed(_ error: any Error, on connection: HubConnection) {
        logger.debug("closing \(connection.sid): \(error)")
        if connection.principal != nil {
            connection.send(SocketIOPacket.event("error", ["code": "bad_packet", "message": .string("\(error)")]))
        }
        connection.send(.close)
        close(connection, reason: "malformed packet: \(error)")
    }

    private func receive(_ packet: SocketIOPacket, on connection: HubConnection) async throws {
        guard packet.namespace == "/" else {
            connection.send(SocketIOPacket(kind: .connectError, namespace: packet.namespace, data: ["message": "Invalid namespace"]))
            return
        }
        switch packet.kind {
        case .connect:
            await connect(connection, auth: packet.data)
        case .disconnect:
            close(connection, reason: "client disconnected")
        case .event:
            guard connection.principal != nil else { throw SocketIOPacket.Malformed(description: "EVENT before CONNECT") }
            await event(packet, on: connection)
        case .ack, .connectError, .binaryEvent, .binaryAck:
            break
        }
    }

    /// CONNECT with `{token, offset?}`: authenticate, check the organization's cap, join the
    /// automatic rooms, announce `connected`, then replay what the client missed.
    private func connect(_ connection: HubConnection, auth: JSONValue?) async {
        guard connection.principal == nil else { return }
        func refuse(_ message: String) {
            connection.send(SocketIOPacket(kind: .connectError, data: ["message": .string(message)]))
            logger.info("refused connection \(connection.sid): \(message)")
        }
        guard let token = auth?["token"]?.stringValue, !token.isEmpty else { return refuse("Authentication token required") }
        let principal: Principal
        do {
            principal = try await authenticator.authenticate(token: token)
        } catch {
            return refuse("Invalid token: \(error)")
        }
        let admitted = state.withLock { state -> Bool in
            guard state.perOrganization[principal.organizationId, default: 0] < config.maxConnectionsPerOrg else { return false }
            state.perOrganization[principal.organizationId, default: 0] += 1
            return true
        }
        guard admitted else { return refuse("Connection limit reached for organization") }
        let now = ContinuousClock.now
        connection.state.withLock { state in
            state.principal = principal
            state.lastAppPong = now
            state.lastAppPing = now
        }
        if let backplane {
            guard await admitInCluster(connection, principal: principal, backplane: backplane) else {
                return refuse("Connection limit reached for organization")
            }
            // Closed while the cluster was asked: close() already released the slot.
            guard !connection.isClosed else { return }
        }
        // Under the hub's lock, so no live event can slip in between: join the automatic rooms,
        // answer CONNECT and `connected`, then replay what the client missed, in offset order.
        let offset = auth?["offset"]?.intValue
        let organization = principal.organizationId
        let rooms = [Self.key("org:\(organization)", organization: organization), Self.key("user:\(principal.userId)", organization: organization)]
        connection.state.withLock { $0.rooms.formUnion(rooms) }
        if let backplane, let offset {
            return await connectRecovering(connection, principal: principal, rooms: rooms, offset: offset, backplane: backplane)
        }
        state.withLock { state in
            for room in rooms { state.rooms[room, default: [:]][connection.sid] = connection }
            let missed = offset.flatMap { offset in
                state.logs[organization]?.events(after: offset, now: now, window: .seconds(config.recoveryWindowSeconds))
            }
            connection.send(SocketIOPacket(kind: .connect, data: ["sid": .string(connection.socketId)]))
            connection.send(SocketIOPacket.event("connected", [
                "userId": .string(principal.userId), "organizationId": .string(organization),
                "email": principal.email.map(JSONValue.string) ?? .null, "role": .string(principal.role),
                "socketId": .string(connection.socketId), "recovered": .bool(missed != nil),
            ]))
            for entry in missed ?? [] { connection.outbox.push(Self.eventPacket(entry.event, offset: entry.offset)) }
        }
        logger.info("connected \(connection.socketId) user \(principal.userId) org \(organization)")
    }

    private func connectedEvent(_ connection: HubConnection, principal: Principal, recovered: Bool) -> SocketIOPacket {
        SocketIOPacket.event("connected", [
            "userId": .string(principal.userId), "organizationId": .string(principal.organizationId),
            "email": principal.email.map(JSONValue.string) ?? .null, "role": .string(principal.role),
            "socketId": .string(connection.socketId), "recovered": .bool(recovered),
        ])
    }

    /// Cluster mode: the organization's cap counts every live instance's connections. The
    /// connection is already counted here (and its principal set, so a close meanwhile frees
    /// the slot); refused, it is uncounted again. Redis unreachable: this instance's count decides.
    private func admitInCluster(_ connection: HubConnection, principal: Principal, backplane: any HubBackplane) async -> Bool {
        let organization = principal.organizationId
        do {
            if try await backplane.admit(organization: organization, cap: config.maxConnectionsPerOrg) { return true }
        } catch {
            logger.warning("cluster-wide connection cap not checked (\(error)); admitting \(connection.sid) on this instance's count")
            return true
        }
        let undo = connection.state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.principal = nil
            return true
        }
        if undo {
            state.withLock { state in
                state.perOrganization[organization, default: 1] -= 1
                if state.perOrganization[organization] == 0 { state.perOrganization[organization] = nil }
            }
        }
        return false
    }

    /// Cluster mode with an offset: the connection joins its rooms at once but live events are
    /// held while the missed ones are read from Redis; then, under the hub's lock, CONNECT,
    /// `connected`, the replay, and the held events newer than the replay — so nothing is
    /// missed, doubled or reordered between replay and live.
    private func connectRecovering(_ connection: HubConnection, principal: Principal, rooms: [String], offset: Int,
                                   backplane: any HubBackplane) async
    {
        let organization = principal.organizationId
        let open = state.withLock { state -> Bool in
            guard state.connections[connection.sid] != nil else { return false }  // closed meanwhile
            state.pending[connection.sid] = []
            for room in rooms { state.rooms[room, default: [:]][connection.sid] = connection }
            return true
        }
        guard open else { return }
        var missed: [ClusterEvent]?
        do {
            missed = try await backplane.recover(
                organization: organization, after: offset, windowSeconds: config.recoveryWindowSeconds, limit: config.recoveryMaxEvents)
        } catch {
            logger.warning("recovery for \(connection.sid) failed (\(error)); connecting without it")
        }
        let overflow = state.withLock { state -> Bool in
            let held = state.pending.removeValue(forKey: connection.sid) ?? []
            guard state.connections[connection.sid] != nil else { return false }
            connection.send(SocketIOPacket(kind: .connect, data: ["sid": .string(connection.socketId)]))
            connection.send(connectedEvent(connection, principal: principal, recovered: missed != nil))
            var accepted = true
            var newest = Int.min
            if let missed {
                newest = offset
                for event in missed {
                    accepted = connection.outbox.push(Self.eventPacket(json: event.json, offset: event.offset)) && accepted
                    newest = max(newest, event.offset)
                }
            }
            for event in held where event.offset > newest { accepted = connection.outbox.push(event.packet) && accepted }
            return !accepted
        }
        if overflow { close(connection, reason: "client too slow (outbox full)") }
        logger.info("connected \(connection.socketId) user \(principal.userId) org \(organization)\(missed.map { " (replayed \($0.count))" } ?? "")")
    }

    /// Room names are per organization: `chat:42` of one organization is not another's.
    private static func key(_ room: String, organization: String) -> String {
        organization + "\u{1}" + room
    }

    private func join(_ connection: HubConnection, room: String, organization: String) {
        let room = Self.key(room, organization: organization)
        connection.state.withLock { _ = $0.rooms.insert(room) }
        state.withLock { $0.rooms[room, default: [:]][connection.sid] = connection }
    }

    private func leave(_ connection: HubConnection, room: String, organization: String) {
        let room = Self.key(room, organization: organization)
        connection.state.withLock { _ = $0.rooms.remove(room) }
        state.withLock { state in
            state.rooms[room]?.removeValue(forKey: connection.sid)
            if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
        }
    }

    /// Client events: `pong`, `subscribe`, `unsubscribe`; anything else is refused (clients
    /// cannot emit into rooms). Rate-limited per connection.
    private func event(_ packet: SocketIOPacket, on connection: HubConnection) async {
        guard let principal = connection.principal, let name = packet.eventName else { return }
        let now = ContinuousClock.now
        let count = connection.state.withLock { state -> Int in
            if state.windowStart.duration(to: now) >= .seconds(60) {
                state.windowStart = now
                state.eventsInWindow = 0
            }
            state.eventsInWindow += 1
            return state.eventsInWindow
        }
        func answer(_ name: String, _ payload: JSONValue) {
            if let ackId = packet.ackId {
                connection.send(SocketIOPacket(kind: .ack, ackId: ackId, data: [payload]))
            }
            connection.send(SocketIOPacket.event(name, payload))
        }
        if count > config.eventsPerMinute {
            answer("error", ["code": "rate_limited", "message": .string("more than \(config.eventsPerMinute) events per minute")])
            if count > 2 * config.eventsPerMinute {
                connection.send(SocketIOPacket(kind: .disconnect))
                close(connection, reason: "rate limit exceeded")
            }
            return
        }
        switch name {
        case "pong":
            connection.state.withLock { $0.lastAppPong = now }
        case "subscribe", "unsubscribe":
            guard case .string(let room) = packet.eventArguments.first else {
                return answer("error", ["code": "invalid_room", "message": "subscribe needs a room name"])
            }
            if let refusal = await check(room: room, for: principal) {
                return answer("error", ["code": .string(refusal.code), "message": .string(refusal.message), "room": .string(room)])
            }
            if name == "subscribe" {
                join(connection, room: room, organization: principal.organizationId)
                answer("subscribed", ["room": .string(room)])
            } else {
                leave(connection, room: room, organization: principal.organizationId)
                answer("unsubscribed", ["room": .string(room)])
            }
        default:
            answer("error", ["code": "unsupported_event", "message": .string("clients cannot emit \"\(name)\"")])
        }
    }

    /// Why the caller may not use `room`, or nil when they may.
    private func check(room: String, for principal: Principal) async -> (code: String, message: String)? {
        guard let colon = room.firstIndex(of: ":"), room.index(after: colon) < room.endIndex else {
            return ("invalid_room", "room must look like org:<id>, user:<id>, chat:<id> or bd-account:<id>")
        }
        let kind = room[..<colon]
        let id = String(room[room.index(after: colon)...])
        let denied = ("forbidden", "not allowed to join \(room)")
        switch kind {
        case "org": return id == principal.organizationId ? nil : denied
        case "user": return id == principal.userId ? nil : denied
        case "chat":
            let exists = (try? await store.chatExists(organizationId: principal.organizationId, chatId: id)) ?? false
            return exists ? nil : denied
        case "bd-account":
            let account = try? await accounts.account(id)
            return account?.organizationId == principal.organizationId ? nil : denied
        default:
            return ("invalid_room", "room must look like org:<id>, user:<id>, chat:<id> or bd-account:<id>")
        }
    }

    // MARK: - Outbound events

    /// Delivers system events from the bus until the stream ends.
    /// In cluster mode they go to the backplane, which brings them back (from every instance)
    /// through `deliver`.
    func run(events: AsyncStream<BusBatch>) async {
        for await batch in events {
            if let backplane { backplane.publish(batch.events) } else { publish(batch.events) }
        }
    }

    /// Sends system events to their rooms (org, the account's, the chat's) — once per socket —
    /// each with its organization's next offset, and keeps them for recovery. Pushed under the
    /// hub's lock: a connecting client's replay and live events stay in order.
    func publish(_ events: [GatewayEvent]) {
        let now = ContinuousClock.now
        let window = Duration.seconds(config.recoveryWindowSeconds)
        var flushes = WireFlushes()
        let overflowing = state.withLock { state -> Set<String> in
            var overflowing = Set<String>()
            for event in events {
                let offset = max(state.offsets[event.organizationId] ?? offsetBase, offsetBase) + 1
                state.offsets[event.organizationId] = offset
                state.logs[event.organizationId, default: RecoveryLog()].append(
                    .init(offset: offset, time: now, event: event), window: window, limit: config.recoveryMaxEvents)
                let members = Self.members(organization: event.organizationId, account: event.accountId, chat: event.chatId, in: state)
                guard !members.isEmpty else { continue }
                let packet = Self.eventPacket(event, offset: offset)
                Self.forEachOnce(members) { sid, connection in
                    if !connection.outbox.push(packet, flushes: &flushes) { overflowing.insert(sid) }
                }
            }
            return overflowing
        }
        flushes.run(delay: WireFlushes.broadcastDelay)
        for sid in overflowing {
            if let connection = connection(sid: sid) { close(connection, reason: "client too slow (outbox full)") }
        }
    }

    /// Cluster mode: events from the backplane (every instance's, in the cluster's order) to
    /// this instance's sockets in their rooms — the rooms of each instance hold its own sockets,
    /// so every socket of the cluster gets each event once. An offset already delivered (a
    /// re-read after a reconnect) is skipped. Pushed under the hub's lock, like `publish`.
    func deliver(_ events: [ClusterEvent]) {
        var flushes = WireFlushes()
        let overflowing = state.withLock { state -> Set<String> in
            var overflowing = Set<String>()
            for event in events {
                let organization = event.organizationId
                if let last = state.delivered[organization], event.offset <= last { continue }
                state.delivered[organization] = event.offset
                state.offsets[organization] = max(state.offsets[organization] ?? 0, event.offset)
                let members = Self.members(organization: organization, account: event.accountId, chat: event.chatId, in: state)
                guard !members.isEmpty else { continue }
                let packet = Self.eventPacket(json: event.json, offset: event.offset)
                Self.forEachOnce(members) { sid, connection in
                    if !state.pending.isEmpty, state.pending[sid] != nil {
                        state.pending[sid]!.append((event.offset, packet))
                    } else if !connection.outbox.push(packet, flushes: &flushes) {
                        overflowing.insert(sid)
                    }
                }
            }
            return overflowing
        }
        flushes.run(delay: WireFlushes.broadcastDelay)
        for sid in overflowing {
            if let connection = connection(sid: sid) { close(connection, reason: "client too slow (outbox full)") }
        }
    }

    /// The non-empty rooms an event goes to: its organization's, its account's, its chat's.
    private static func members(organization: String, account: String, chat: String?, in state: State)
        -> [[String: HubConnection]]
    {
        var members: [[String: HubConnection]] = []
        members.reserveCapacity(3)
        if let room = state.rooms[key("org:\(organization)", organization: organization)] { members.append(room) }
        if let room = state.rooms[key("bd-account:\(account)", organization: organization)] { members.append(room) }
        if let chat, let room = state.rooms[key("chat:\(chat)", organization: organization)] { members.append(room) }
        return members
    }

    /// Each connection of `rooms` once: one in several rooms is visited in the first only (no
    /// set of receivers is built; the later, smaller rooms are checked against the earlier ones).
    private static func forEachOnce(_ rooms: [[String: HubConnection]], _ body: (String, HubConnection) -> Void) {
        for (index, room) in rooms.enumerated() {
            for (sid, connection) in room where !rooms[..<index].contains(where: { $0[sid] != nil }) {
                body(sid, connection)
            }
        }
    }

    /// `42["event",…]` from an event's JSON without offset (`{…}`, as the cluster carries it).
    static func eventPacket(json: [UInt8], offset: Int) -> HubFrame {
        var bytes = Array("42[\"event\",".utf8)
        bytes.reserveCapacity(json.count + 40)
        bytes.append(contentsOf: json.dropLast())
        bytes.append(contentsOf: ",\"offset\":\(offset)}]".utf8)
        return HubFrame(utf8: bytes)
    }

    /// `42["event",{id,type,organizationId,data,timestamp,offset}]` as an Engine.IO packet,
    /// encoded once for every receiver.
    static func eventPacket(_ event: GatewayEvent, offset: Int) -> HubFrame {
        var writer = JSONWriter(capacity: 1024)
        writer.write(event, offset: offset)
        var bytes = Array("42[\"event\",".utf8)
        writer.withUnsafeBytes { json in
            bytes.reserveCapacity(json.count + 12)
            bytes.append(contentsOf: json)
        }
        bytes.append(UInt8(ascii: "]"))
        return HubFrame(utf8: bytes)
    }

    // MARK: - Heartbeats

    /// Pings, pong deadlines, idle polling sessions — checked every quarter second until cancelled.
    func runHeartbeats() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            sweep(now: .now)
        }
        for connection in state.withLock({ Array($0.connections.values) }) { close(connection, reason: "server shutting down") }
    }

    func sweep(now: ContinuousClock.Instant) {
        let pingInterval = Duration.milliseconds(config.pingIntervalMilliseconds)
        let pingTimeout = Duration.milliseconds(config.pingTimeoutMilliseconds)
        let appInterval = Duration.milliseconds(config.appPingIntervalMilliseconds)
        let appTimeout = Duration.milliseconds(config.appPongTimeoutMilliseconds)
        for connection in state.withLock({ Array($0.connections.values) }) {
            enum Verdict { case keep, ping, appPing, close(String) }
            let verdicts = connection.state.withLock { state -> [Verdict] in
                var verdicts: [Verdict] = []
                if let sent = state.pingSentAt, sent.duration(to: now) > pingTimeout {
                    return [.close("ping timeout")]
                }
                if state.transport == .polling, state.lastSeen.duration(to: now) > pingInterval + pingTimeout {
                    return [.close("polling client went away")]
                }
                if state.pingSentAt == nil, state.lastPingSent.duration(to: now) >= pingInterval {
                    state.pingSentAt = now
                    state.lastPingSent = now
                    verdicts.append(.ping)
                }
                if state.principal != nil {
                    if state.lastAppPong.duration(to: now) > appTimeout { return [.close("no pong for \(appTimeout)")] }
                    if state.lastAppPing.duration(to: now) >= appInterval {
                        state.lastAppPing = now
                        verdicts.append(.appPing)
                    }
                }
                return verdicts
            }
            for verdict in verdicts {
                switch verdict {
                case .keep: break
                case .ping: connection.send(.ping(""))
                case .appPing:
                    connection.send(SocketIOPacket.event("ping", ["timestamp": .number((Date().timeIntervalSince1970 * 1000).rounded())]))
                case .close(let reason):
                    connection.send(SocketIOPacket(kind: .disconnect))
                    connection.send(.close)
                    close(connection, reason: reason)
                }
            }
        }
    }
}

extension Hub: HubClusterSink {
    /// Cluster mode with Redis unreachable: the single-instance path (offsets continue from the
    /// last cluster offset seen here; these events are not recoverable on other instances).
    func deliverLocally(_ events: [GatewayEvent]) {
        publish(events)
    }

    func localConnectionCount(organization: String) -> Int {
        state.withLock { $0.perOrganization[organization] ?? 0 }
    }

    func localConnectionCounts() -> [String: Int] {
        state.withLock { $0.perOrganization }
    }
}
