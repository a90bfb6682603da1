import Foundation
import GatewayCore
import GatewayModel

/// Loopback plugin → pipeline → router → SQLite, at several store sizes, next to the raw
/// SQLite batched-insert rate of the same rows on the same machine.
struct IngestBenchmark {
    let pluginDirectory: String
    let burst: Int
    /// The store under test: nil is a SQLite file in the run's directory; else a new backend per
    /// store size (a fresh PostgreSQL database).
    var backend: (() throws -> StorageConfig.Backend)? = nil

    struct Result {
        var stored: Int
        var messagesPerSecond: Double
        var p50: Double
        var p99: Double
    }

    func run(prefills: [Int]) async throws -> [Result] {
        var results: [Result] = []
        for prefill in prefills {
            results.append(try await measure(prefill: prefill))
        }
        return results
    }

    private func measure(prefill: Int) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try backend?()
        let gateway = try await startBenchGateway(in: directory, pluginDirectory: pluginDirectory) { config in
            if let store { config.storage.backend = store }
        }

        // Fill the store to the size under test (through the pipeline, 1000 chats).
        var next = max(prefill, 1)
        try await emitLoopback(gateway, start: 0, count: next, chats: 1_000)
        await gateway.pipeline.flush()

        // Throughput: one burst, timed from the first emit to the last commit.
        let clock = ContinuousClock()
        let started = clock.now
        try await emitLoopback(gateway, start: next, count: burst, chats: 1_000)
        await gateway.pipeline.flush()
        let elapsed = started.duration(to: clock.now)
        next += burst
        let rate = Double(burst) / elapsed.seconds

        // Latency: emit → committed and on the hub, at a paced 20,000 messages/s in chunks of 100.
        let events = gateway.bus.subscribe(topics: [EventBus.hubTopic])
        let collector = Task {
            var latencies: [Double] = []
            for await batch in events {
                let now = Date()
                for event in batch.events {
                    guard case .message(let stored) = event.data else { continue }
                    latencies.append(now.timeIntervalSince(stored.createdAt))
                }
                if latencies.count >= 20_000 { break }
            }
            return latencies
        }
        for chunk in 0..<200 {
            try await emitLoopback(gateway, start: next + chunk * 100, count: 100, chats: 1_000)
            try await Task.sleep(for: .milliseconds(5))
        }
        let latencies = await collector.value.sorted()
        await gateway.stop()
        return Result(
            stored: prefill, messagesPerSecond: rate, p50: percentile(latencies, 0.50) * 1000,
            p99: percentile(latencies, 0.99) * 1000)
    }
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
