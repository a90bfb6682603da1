import GatewayModel

/// Delivers routed events: `hub` and `publish` actions go onto the event bus; `webhook`
/// actions to the webhook dispatcher.
public final class BusFanOut: EventFanOut {
    public let bus: EventBus
    private let webhooks: WebhookDispatcher

    public init(bus: EventBus, webhooks: WebhookDispatcher) {
        self.bus = bus
        self.webhooks = webhooks
    }

    public func deliver(_ event: GatewayEvent, actions: [RouteAction]) {
        for action in actions {
            switch action {
            case .hub:
                bus.publish(event, topic: EventBus.hubTopic)
            case .publish(let topic):
                bus.publish(event, topic: topic)
            case .webhook(let url, let secret, let attempts):
                webhooks.deliver(event, url: url, secret: secret, attempts: attempts)
            case .store, .drop:
                break
            }
        }
    }
}
