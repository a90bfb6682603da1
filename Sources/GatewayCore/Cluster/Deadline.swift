import Synchronization

struct DeadlineExceeded: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "no answer within \(limit)" }
}

/// Runs `body` and waits for it at most `limit`: nil when it finished in time, else its error or
/// `DeadlineExceeded`. A late `body` is left to finish on its own (a database call that hangs
/// must not hold up the decision to stop driving accounts).
func withDeadline(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async -> (any Error)? {
    let waiter = Mutex<CheckedContinuation<(any Error)?, Never>?>(nil)
    let finish: @Sendable ((any Error)?) -> Void = { outcome in
        waiter.withLock { continuation in
            continuation?.resume(returning: outcome)
            continuation = nil
        }
    }
    return await withCheckedContinuation { continuation in
        waiter.withLock { $0 = continuation }
        let work = Task {
            do {
                try await body()
                finish(nil)
            } catch {
                finish(error)
            }
        }
        Task {
            try? await Task.sleep(for: limit)
            guard !work.isCancelled else { return }
            work.cancel()
            finish(DeadlineExceeded(limit: limit))
        }
    }
}
