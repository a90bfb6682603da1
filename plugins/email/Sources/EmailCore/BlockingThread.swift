import CEmail
import Foundation

/// A thread of its own for blocking C calls (libcurl, libetpan), so they never hold a thread of
/// Swift's cooperative pool. Jobs run one at a time, in order; SIGPIPE is blocked on it.
public final class BlockingThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopped = false

    public init(name: String) {
        let thread = Thread { [weak self] in
            cemail_block_sigpipe()
            while let job = self?.next() { job() }
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func next() -> (() -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !stopped { condition.wait() }
        return jobs.isEmpty ? nil : jobs.removeFirst()
    }

    /// Runs `body` on the thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            guard !stopped else {
                condition.unlock()
                continuation.resume(throwing: MailError(.network, "the mail thread stopped"))
                return
            }
            jobs.append { continuation.resume(with: Result { try body() }) }
            condition.signal()
            condition.unlock()
        }
    }

    /// Lets queued jobs finish, then ends the thread.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
