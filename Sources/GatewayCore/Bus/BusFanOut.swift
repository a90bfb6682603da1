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

    /// Groups the events per bus topic (order kept) and publishes each topic once.
    public func deliver(_ deliveries: [(event: GatewayEvent, actions: [RouteAction])]) {
        var topics: [String] = []
        var batches: [String: [GatewayEvent]] = [:]
        func add(_ event: GatewayEvent, to topic: String) {
            if batches[topic] == nil { topics.append(topic) }
            batches[topic, default: []].append(event)
        }
        for (event, actions) in deliveries {
            for action in actions {
                switch action {
                case .hub: add(event, to: EventBus.hubTopic)
                case .publish(let topic): add(event, to: topic)
                case .webhook(let url, let secret, let attempts):
                    webhooks.deliver(event, url: url, secret: secret, attempts: attempts)
                case .store, .drop: break
                }
            }
        }
        for topic in topics { bus.publish(batches[topic] ?? [], topic: topic) }
    }
}
