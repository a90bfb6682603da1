/// Spaces out one kind of call of one account (Telegram answers bursts with FLOOD_WAIT): each call
/// starts at least `interval` after the previous one started; waiting callers keep their order.
actor Pacer {
    private let interval: Duration
    private var nextSlot = ContinuousClock.now

    init(interval: Duration) { self.interval = interval }

    func wait() async {
        let now = ContinuousClock.now
        let slot = max(now, nextSlot)
        nextSlot = slot + interval
        if slot > now { try? await Task.sleep(until: slot, clock: .continuous) }
    }
}
