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
        outbox.push(HubFrame(packet.encoded))
    }

    func send(_ packet: SocketIOPacket) {
        outbox.push(HubFrame(EngineIOPacket.message(packet.encoded).encoded))
    }

    /// 120 random bits as 20 URL-safe base64 characters (two reads of the system generator).
    static func randomId() -> String {
        var generator = SystemRandomNumberGenerator()
        var words = (generator.next() as UInt64, generator.next() as UInt64)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var characters = [UInt8](repeating: 0, count: 20)
        for index in 0..<20 {
            characters[index] = alphabet[Int(words.0 & 63)]
            words.0 = (words.0 >> 6) | (words.1 << 58)
            words.1 >>= 6
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
