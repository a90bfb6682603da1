import PostgresNIO
import Synchronization

/// Work on a pooled connection that postgres-nio may never answer.
///
/// Measured with postgres-nio 1.33.2: `PostgresConnection.query` hands its statement to the
/// channel with no write promise. Once the server has closed the connection (`pg_ctl stop -m fast`
/// landing between two statements of a batch) NIO has already removed postgres-nio's handler, so
/// the next statement — or the `ROLLBACK` of `withTransaction` after a failed one — is dropped
/// by the closed channel and its answer never comes: the write would wait for ever, holding the
/// write queue and its pool lease. Cancelling it does nothing (nothing is left to notice), so the
/// work runs in a task of its own that the caller stops waiting for.
extension PostgresStore {
    /// How long a closed connection's work may still end on its own (a statement in flight at
    /// the close fails at once; one issued after it never ends), and how often that is checked.
    static let closeGrace: Duration = .seconds(1)
    static let watchInterval: Duration = .milliseconds(100)

    /// `work`'s result, or `StoreUnavailable` when `connection` has been closed for `closeGrace`
    /// with `work` still pending, or when `limit` passed. In that case the connection is closed
    /// before the caller hands it back, so the pool drops it instead of lending it again with
    /// the stuck statement on it; the server rolls the transaction back once it notices (at the
    /// end of a running statement). An abandoned task that never ends stays suspended: its memory
    /// is the cost, once per broken connection. The caller's cancellation is not passed on:
    /// postgres-nio's statements ignore it.
    func watching<T: Sendable>(
        _ connection: PostgresConnection, limit: Duration?, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let watch = Watch<T>()
        let target = settings.redacted
        return try await withCheckedThrowingContinuation { continuation in
            watch.state.withLock { $0.continuation = continuation }
            Task {
                do { watch.workEnded(.success(try await work())) } catch { watch.workEnded(.failure(error)) }
            }
            let watcher = Task {
                let started = ContinuousClock.now
                var closedSince: ContinuousClock.Instant?
                while true {
                    try await Task.sleep(for: Self.watchInterval)
                    let now = ContinuousClock.now
                    if connection.isClosed {
                        let since = closedSince ?? now
                        closedSince = since
                        guard since.duration(to: now) >= Self.closeGrace else { continue }
                        watch.giveUp(StoreUnavailable("PostgreSQL \(target): the connection closed under a statement that never ended"))
                        return
                    }
                    if let limit, started.duration(to: now) >= limit {
                        guard watch.beginClosing() else { return }
                        try? await connection.close()
                        watch.giveUp(StoreUnavailable("PostgreSQL \(target): no answer within \(limit) (write_timeout); connection closed"))
                        return
                    }
                }
            }
            if !watch.adopt(watcher) { watcher.cancel() }
        }
    }

    /// Whichever of the work and the watcher ends the wait first decides; the other is ignored.
    final class Watch<T: Sendable>: Sendable {
        struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var watcher: Task<Void, any Error>?
            /// The watcher is closing the connection: the caller must not hand it back to the pool
            /// before that is done, so the work's end (which the close itself brings) waits for it.
            var closing = false
            var succeeded: T?
        }

        let state = Mutex(State())

        /// Keeps the watcher to cancel when the work ends; false when it already has.
        func adopt(_ watcher: Task<Void, any Error>) -> Bool {
            state.withLock { state in
                guard state.continuation != nil || state.closing else { return false }
                state.watcher = watcher
                return true
            }
        }

        func workEnded(_ result: Result<T, any Error>) {
            let (continuation, watcher) = state.withLock { state in
                if state.closing {
                    if case .success(let value) = result { state.succeeded = value }
                    return (nil, nil) as (CheckedContinuation<T, any Error>?, Task<Void, any Error>?)
                }
                return (state.continuation.take(), state.watcher.take())
            }
            watcher?.cancel()
            continuation?.resume(with: result)
        }

        /// False when the work has ended meanwhile.
        func beginClosing() -> Bool {
            state.withLock { state in
                guard state.continuation != nil else { return false }
                state.closing = true
                return true
            }
        }

        /// Ends the wait with `reason` — or with the work's result, had it committed just before
        /// the close.
        func giveUp(_ reason: StoreUnavailable) {
            let (continuation, succeeded) = state.withLock { state in
                state.watcher = nil
                return (state.continuation.take(), state.succeeded.take())
            }
            if let succeeded { continuation?.resume(returning: succeeded) } else { continuation?.resume(throwing: reason) }
        }
    }
}
