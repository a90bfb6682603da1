import Foundation
import GatewayModel
import Synchronization

/// Events published together on one topic (the pipeline publishes once per store batch).
public struct BusBatch: Sendable {
    public var topic: String
    public var events: [GatewayEvent]
}

/// The in-process event bus: typed events fanned out to subscribers by topic. The hub listens
/// on `EventBus.hubTopic`; `publish` routes name their own topics (the Redis/RabbitMQ adapters
/// subscribe to those). Events travel in batches, so a burst costs one hand-over per subscriber
/// and store transaction, not one per event. A slow subscriber loses its oldest undelivered
/// batches, never blocks the pipeline; dropped events are counted.
public final class EventBus: Sendable {
    public static let hubTopic = "hub"

    private struct Subscriber {
        var topics: Set<String>?
        var continuation: AsyncStream<BusBatch>.Continuation
    }

    private let state = Mutex<[UUID: Subscriber]>([:])
    private let dropped = Atomic<Int>(0)
    private let bufferSize: Int

    /// `bufferSize`: batches a subscriber may fall behind by.
    public init(bufferSize: Int = 4096) {
        self.bufferSize = bufferSize
    }

    /// Events on the given topics (all topics when nil), until the stream is dropped.
    public func subscribe(topics: Set<String>? = nil) -> AsyncStream<BusBatch> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<BusBatch>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        state.withLock { $0[id] = Subscriber(topics: topics, continuation: continuation) }
        return stream
    }

    private func remove(_ id: UUID) {
        _ = state.withLock { $0.removeValue(forKey: id) }
    }

    public func publish(_ events: [GatewayEvent], topic: String) {
        guard !events.isEmpty else { return }
        let subscribers = state.withLock { $0.isEmpty ? [] : Array($0.values) }
        for subscriber in subscribers where subscriber.topics?.contains(topic) ?? true {
            if case .dropped(let batch) = subscriber.continuation.yield(BusBatch(topic: topic, events: events)) {
                dropped.add(batch.events.count, ordering: .relaxed)
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
