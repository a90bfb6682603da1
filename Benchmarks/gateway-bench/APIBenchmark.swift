import Foundation
import GatewayCore
import GatewayModel

/// GET /api/messaging/messages?limit=50 and GET /api/messaging/chats on a store of `messages`
/// messages across `chats` chats, driven by wrk over loopback, next to the same server's /health.
struct APIBenchmark {
    let pluginDirectory: String
    let messages: Int
    let chats: Int
    let duration: Int

    struct Result {
        var name: String
        var requestsPerSecond: Double
        var p50: String
        var p99: String
        /// The gateway's own CPU time (user + system) per request: unlike requests/s, it does not
        /// depend on what else the 2 cores are doing (wrk, other processes).
        var serverCPUMicroseconds: Double
    }

    func run() async throws -> [Result] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-api-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try freeLoopbackPort()
        let secret = String(repeating: "b", count: 40)
        let token = try await TokenMinter.mint(
            TokenClaims(userId: "bench", organizationId: "org", role: "admin", email: nil, expiresAt: Date().addingTimeInterval(3600)),
            secret: secret)
        let base = "http://127.0.0.1:\(port)"
        let listings = [("messages?limit=50", "/api/messaging/messages?limit=50"), ("chats", "/api/messaging/chats")]
        /// Serves the store in `directory` (filling it first when `fill`) and runs wrk on `endpoints`.
        func serve(listingCacheMegabytes: Int, fill: Bool, _ endpoints: [(String, String)]) async throws -> [Result] {
            let gateway = try await startBenchGateway(in: directory, pluginDirectory: pluginDirectory) { config in
                config.auth.jwt.secret = secret
                config.api.rateLimitPerMinute = 100_000_000
                config.server.host = "127.0.0.1"
                config.server.port = port
                config.storage.listingCacheMegabytes = listingCacheMegabytes
            }
            if fill {
                try await emitLoopback(gateway, start: 0, count: messages, chats: chats)
                await gateway.pipeline.flush()
            }
            let app = gateway.application(metrics: nil)
            let server = Task { try await app.runService(gracefulShutdownSignals: []) }
            try await Task.sleep(for: .seconds(1))
            var results: [Result] = []
            for (name, path) in endpoints {
                results.append(try wrk(name: name, url: base + path, token: token))
            }
            server.cancel()
            _ = try? await server.value
            await gateway.stop()
            return results
        }
        // As configured by default, then with the listings' JSON caches off: every row read and
        // written on every request, as when every row changed since the last listing.
        let cached = try await serve(listingCacheMegabytes: 32, fill: true, [("/health (ceiling)", "/health")] + listings)
        let uncached = try await serve(listingCacheMegabytes: 0, fill: false, listings.map { ("\($0.0), cache off", $0.1) })
        return cached + uncached
    }

    /// One wrk run: 1 thread, 16 connections (the load generator shares the 2 cores), after an
    /// unreported 2 s warm-up on the same URL (connections, caches and the page cache settle).
    private func wrk(name: String, url: String, token: String) throws -> Result {
        _ = try runWrk(seconds: 2, url: url, token: token)
        let cpuBefore = processCPUSeconds()
        let output = try runWrk(seconds: duration, url: url, token: token)
        func field(_ prefix: String) -> String? {
            output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix(prefix) }?
                .split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
        }
        if output.contains("Non-2xx") { throw BenchError("\(url) answered errors under load: \(output)") }
        let cpu = processCPUSeconds() - cpuBefore
        // "  123456 requests in 10.00s, 30.00MB read"
        let requests = output.split(separator: "\n").first { $0.contains(" requests in ") }?
            .split(separator: " ").first.flatMap { Double($0) } ?? 0
        return Result(
            name: name, requestsPerSecond: Double(field("Requests/sec:") ?? "0") ?? 0, p50: field("50%") ?? "?",
            p99: field("99%") ?? "?", serverCPUMicroseconds: requests > 0 ? cpu / requests * 1e6 : 0)
    }

    private func runWrk(seconds: Int, url: String, token: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["wrk", "-t1", "-c16", "-d\(seconds)s", "--latency", "-H", "Authorization: Bearer \(token)", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("wrk failed: \(output)") }
        return output
    }

    /// User + system CPU time of this process (the gateway under test runs in it), in seconds.
    private func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw BenchError("cannot bind a loopback port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
