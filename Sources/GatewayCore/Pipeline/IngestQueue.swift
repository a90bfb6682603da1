import Synchronization

/// A multi-producer, single-consumer queue: plugins' threads push without waiting; the pipeline
/// takes everything queued so far (up to a batch size) in one go.
final class IngestQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var head = 0
        var waiter: CheckedContinuation<Void, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    func push(_ element: Element) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items.append(element)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// No more pushes will be waited for: `next` returns what is left, then nil.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Up to `limit` queued elements, waiting while there are none; nil once finished and empty.
    /// A batch smaller than `linger.minimum` waits `linger.time` once for more to arrive, so a
    /// steady trickle is written in a few large transactions instead of many tiny ones.
    func next(limit: Int, linger: (minimum: Int, time: Duration)? = nil) async -> [Element]? {
        guard var batch = await next(limit: limit) else { return nil }
        if let linger, batch.count < linger.minimum {
            try? await Task.sleep(for: linger.time)
            batch += take(limit: limit - batch.count).batch
        }
        return batch
    }

    /// Whatever is queued, up to `limit`, without waiting.
    private func take(limit: Int) -> (batch: [Element], finished: Bool) {
        state.withLock { state -> ([Element], Bool) in
            let available = state.items.count - state.head
            guard available > 0, limit > 0 else { return ([], state.finished) }
            let end = state.head + min(limit, available)
            let batch = Array(state.items[state.head..<end])
            state.head = end
            if state.head == state.items.count {
                state.items.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 4096, state.head * 2 > state.items.count {
                state.items.removeFirst(state.head)
                state.head = 0
            }
            return (batch, state.finished)
        }
    }

    private func next(limit: Int) async -> [Element]? {
        while true {
            let (batch, finished) = take(limit: limit)
            if !batch.isEmpty { return batch }
            if finished { return nil }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.items.count > state.head || state.finished { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    var count: Int { state.withLock { $0.items.count - $0.head } }
}
