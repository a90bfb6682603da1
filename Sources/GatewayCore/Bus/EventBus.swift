import Foundation
import GatewayModel
import Synchronization

/// One event on a bus topic.
public struct BusMessage: Sendable {
    public var topic: String
    public var event: GatewayEvent
}

/// The in-process event bus: typed events fanned out to subscribers by topic. The hub listens
/// on `EventBus.hubTopic`; `publish` routes name their own topics (the Redis/RabbitMQ adapters
/// subscribe to those). A slow subscriber loses its oldest undelivered events, never blocks
/// the pipeline; drops are counted.
public final class EventBus: Sendable {
    public static let hubTopic = "hub"

    private struct Subscriber {
        var topics: Set<String>?
        var continuation: AsyncStream<BusMessage>.Continuation
    }

    private let state = Mutex<[UUID: Subscriber]>([:])
    private let dropped = Atomic<Int>(0)
    private let bufferSize: Int

    public init(bufferSize: Int = 65_536) {
        self.bufferSize = bufferSize
    }

    /// Events on the given topics (all topics when nil), until the stream is dropped.
    public func subscribe(topics: Set<String>? = nil) -> AsyncStream<BusMessage> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<BusMessage>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        state.withLock { $0[id] = Subscriber(topics: topics, continuation: continuation) }
        return stream
    }

    private func remove(_ id: UUID) {
        _ = state.withLock { $0.removeValue(forKey: id) }
    }

    public func publish(_ event: GatewayEvent, topic: String) {
        let subscribers = state.withLock { $0.isEmpty ? [] : Array($0.values) }
        for subscriber in subscribers where subscriber.topics?.contains(topic) ?? true {
            if case .dropped = subscriber.continuation.yield(BusMessage(topic: topic, event: event)) {
                dropped.add(1, ordering: .relaxed)
            }
        }
    }

    /// Events dropped because a subscriber fell behind.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    public func finish() {
        let subscribers = state.withLock { Array($0.values) }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }
}
