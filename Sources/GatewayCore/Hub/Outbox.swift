import Synchronization

/// Engine.IO packets waiting for a transport. Long-polling: a GET takes them all at once.
/// WebSocket: once a `WebSocketWire` is attached, a push schedules one flush on the channel's
/// event loop, which writes everything queued by then and flushes once (so the packets of one
/// broadcast, or of a CONNECT and its replay, leave in one write call). Bounded: a client that
/// stops reading (its channel stays unwritable) fills it and is closed.
final class Outbox: Sendable {
    private struct State {
        var packets: [HubFrame] = []
        var waiter: CheckedContinuation<[HubFrame]?, Never>?
        var closed = false
        var wire: WebSocketWire?
        /// A flush is scheduled on the wire's event loop and has not taken the packets yet.
        var flushScheduled = false
    }

    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int = 10_000) {
        self.limit = limit
    }

    /// False when the outbox is closed or full (the connection should then be dropped).
    @discardableResult
    func push(_ packet: HubFrame) -> Bool {
        var flushes = WireFlushes()
        let accepted = push(packet, flushes: &flushes)
        flushes.run()
        return accepted
    }

    /// Like `push`, but a flush the packet needs is added to `flushes` (run them after a batch).
    func push(_ packet: HubFrame, flushes: inout WireFlushes) -> Bool {
        enum Next { case nothing, resume(CheckedContinuation<[HubFrame]?, Never>), flush(WebSocketWire) }
        let (next, accepted) = state.withLock { state -> (Next, Bool) in
            guard !state.closed, state.packets.count < limit else { return (.nothing, false) }
            if let wire = state.wire {
                state.packets.append(packet)
                if state.flushScheduled { return (.nothing, true) }
                state.flushScheduled = true
                return (.flush(wire), true)
            }
            if let waiter = state.waiter {
                state.waiter = nil
                return (.resume(waiter), true)
            }
            state.packets.append(packet)
            return (.nothing, true)
        }
        switch next {
        case .nothing: break
        case .resume(let waiter): waiter.resume(returning: [packet])
        case .flush(let wire): flushes.add(self, on: wire)
        }
        return accepted
    }

    /// Long-polling: everything queued, waiting until something is; nil once closed and empty.
    func drain() async -> [HubFrame]? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [HubFrame]?? in
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

    /// The polling → WebSocket upgrade: from now on packets go to `wire`; a waiting poll ends
    /// with nothing and what is queued follows on the WebSocket.
    func attach(_ wire: WebSocketWire) {
        let (waiter, flush) = state.withLock { state -> (CheckedContinuation<[HubFrame]?, Never>?, Bool) in
            state.wire = wire
            let waiter = state.waiter
            state.waiter = nil
            let flush = (!state.packets.isEmpty || state.closed) && !state.flushScheduled
            if flush { state.flushScheduled = true }
            return (waiter, flush)
        }
        waiter?.resume(returning: [])
        if flush {
            var flushes = WireFlushes()
            flushes.add(self, on: wire)
            flushes.run()
        }
    }

    /// The wire's flush, on its event loop: swaps what to write now into `packets` (an empty
    /// array whose capacity the outbox keeps, so neither side allocates per flush); true when the
    /// outbox is closed (then the wire is detached: nothing follows).
    func takeForWire(into packets: inout [HubFrame]) -> Bool {
        state.withLock { state in
            state.flushScheduled = false
            swap(&state.packets, &packets)
            if state.closed { state.wire = nil }
            return state.closed
        }
    }

    /// The wire could not write (channel unwritable): it calls `wireWritable` when it can again.
    func wireStalled() -> Bool {
        state.withLock { state in
            state.flushScheduled = false
            return state.closed
        }
    }

    func close() {
        let (waiter, wire) = state.withLock { state -> (CheckedContinuation<[HubFrame]?, Never>?, WebSocketWire?) in
            state.closed = true
            defer { state.waiter = nil }
            guard let wire = state.wire, !state.flushScheduled else { return (state.waiter, nil) }
            state.flushScheduled = true
            return (state.waiter, wire)
        }
        waiter?.resume(returning: nil)
        if let wire {
            var flushes = WireFlushes()
            flushes.add(self, on: wire)
            flushes.run()
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }
}
