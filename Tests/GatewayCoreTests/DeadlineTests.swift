import Testing

@testable import GatewayCore

/// `withDeadline`, which keeps a hanging lease renewal from delaying the release of accounts.
@Suite struct DeadlineTests {
    struct Boom: Error {}

    @Test func finishesInTimeOrGivesUp() async {
        #expect(await withDeadline(.seconds(5)) {} == nil)
        #expect(await withDeadline(.seconds(5)) { throw Boom() } is Boom)
        let started = ContinuousClock.now
        let outcome = await withDeadline(.milliseconds(100)) {
            // Ignores cancellation, like a call stuck on the network.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Task.detached {
                    try? await Task.sleep(for: .seconds(3))
                    done.resume()
                }
            }
        }
        #expect(outcome is DeadlineExceeded)
        #expect(started.duration(to: .now) < .seconds(2), "given up at the deadline, not when the body ended")
    }
}
