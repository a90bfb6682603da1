import Foundation
import Synchronization

/// One Engine.IO session and the Socket.IO socket on it (the default namespace only).
final class HubConnection: Sendable {
    enum Transport: Sendable { case polling, websocket }

    struct State: Sendable {
        var transport: Transport
        /// Set once the client connected the Socket.IO namespace and was authenticated.
        var principal: Principal?
        var rooms: Set<String> = []
        var lastSeen: ContinuousClock.Instant
        var pingSentAt: ContinuousClock.Instant?
        var lastPingSent: ContinuousClock.Instant
        var lastAppPing: ContinuousClock.Instant
        var lastAppPong: ContinuousClock.Instant
        var windowStart: ContinuousClock.Instant
        var eventsInWindow = 0
        var closed = false
    }

    /// Engine.IO session id.
    let sid: String
    /// Socket.IO socket id (what the `connected` event reports as socketId).
    let socketId: String
    let outbox = Outbox()
    let state: Mutex<State>

    init(transport: Transport, now: ContinuousClock.Instant = .now) {
        sid = HubConnection.randomId()
        socketId = HubConnection.randomId()
        state = Mutex(State(
            transport: transport, lastSeen: now, lastPingSent: now, lastAppPing: now, lastAppPong: now, windowStart: now))
    }

    var principal: Principal? { state.withLock { $0.principal } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Queues an Engine.IO packet for whichever transport carries the session.
    func send(_ packet: EngineIOPacket) {
        outbox.push(packet.encoded)
    }

    func send(_ packet: SocketIOPacket) {
        outbox.push(EngineIOPacket.message(packet.encoded).encoded)
    }

    static func randomId() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<15).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
