import GatewayModel
import Logging
import Synchronization

/// Delivers routed events: `hub` and `publish` actions go onto the event bus; `webhook`
/// actions go to the webhook sender when one is configured.
public final class BusFanOut: EventFanOut {
    public let bus: EventBus
    private let logger: Logger
    private let warnedAboutWebhooks = Atomic<Bool>(false)

    public init(bus: EventBus, logger: Logger) {
        self.bus = bus
        self.logger = logger
    }

    public func deliver(_ event: GatewayEvent, actions: [RouteAction]) {
        for action in actions {
            switch action {
            case .hub:
                bus.publish(event, topic: EventBus.hubTopic)
            case .publish(let topic):
                bus.publish(event, topic: topic)
            case .webhook(let url, _, _):
                if !warnedAboutWebhooks.exchange(true, ordering: .relaxed) {
                    logger.warning("webhook route to \(url) matched, but webhook delivery is not available in this build yet")
                }
            case .store, .drop:
                break
            }
        }
    }
}
