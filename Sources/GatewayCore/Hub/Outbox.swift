import Synchronization

/// Engine.IO packets waiting for a transport: a long-poll GET takes them all at once, a
/// WebSocket writer takes them as they come. Bounded: a client that stops reading is closed.
final class Outbox: Sendable {
    private struct State {
        var packets: [String] = []
        var waiter: CheckedContinuation<[String]?, Never>?
        var closed = false
    }

    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int = 10_000) {
        self.limit = limit
    }

    /// False when the outbox is closed or full (the connection should then be dropped).
    @discardableResult
    func push(_ packet: String) -> Bool {
        let (waiter, accepted) = state.withLock { state -> (CheckedContinuation<[String]?, Never>?, Bool) in
            guard !state.closed, state.packets.count < limit else { return (nil, false) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, true)
            }
            state.packets.append(packet)
            return (nil, true)
        }
        waiter?.resume(returning: [packet])
        return accepted
    }

    /// Everything queued, waiting until something is; nil once closed and empty.
    func drain() async -> [String]? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [String]?? in
                if !state.packets.isEmpty {
                    defer { state.packets.removeAll() }
                    return .some(state.packets)
                }
                if state.closed { return .some(nil) }
                state.waiter?.resume(returning: [])
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Wakes a waiting `drain` with nothing (a poll that must end now).
    func interrupt() {
        let waiter = state.withLock { state -> CheckedContinuation<[String]?, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: [])
    }

    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<[String]?, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    var isClosed: Bool { state.withLock { $0.closed } }
}
