import GatewayModel

/// Which routed events go to the RabbitMQ outbox (bus.rabbitmq.url set): those a route sends to
/// `publish: TOPIC`, each under the routing key `TOPIC.EVENT_TYPE` (e.g.
/// `events.MESSAGE_RECEIVED`). The in-process bus gets the same topics as before; the outbox is
/// what reaches RabbitMQ, written in the transaction of the batch that produced the events.
public struct OutboxRouting: Sendable {
    public var enabled: Bool
    /// Called after a transaction that added outbox rows (wakes the publisher).
    public var onEnqueued: @Sendable () -> Void

    public init(enabled: Bool, onEnqueued: @escaping @Sendable () -> Void = {}) {
        self.enabled = enabled
        self.onEnqueued = onEnqueued
    }

    public static let disabled = OutboxRouting(enabled: false)

    public static func routingKey(topic: String, type: EventType) -> String { "\(topic).\(type.rawValue)" }

    /// The routing keys of an event with these route actions (none when RabbitMQ is off).
    public func routingKeys(for actions: [RouteAction], type: EventType) -> [String] {
        guard enabled else { return [] }
        var keys: [String] = []
        for case .publish(let topic) in actions {
            let key = Self.routingKey(topic: topic, type: type)
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }
}
