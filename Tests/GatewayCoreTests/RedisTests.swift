import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// The Redis layer: URL parsing, the hub's offset ↔ stream id mapping and recovery rules, and
/// `RedisConnection` against a real redis-server (Debian's; skipped when it is not installed).
@Suite struct RedisTests {
    @Test func urlsParse() throws {
        #expect(try RedisURL(parsing: "redis://localhost") == RedisURL(host: "localhost"))
        #expect(try RedisURL(parsing: "redis://127.0.0.1:6380/2") == RedisURL(host: "127.0.0.1", port: 6380, database: 2))
        #expect(try RedisURL(parsing: "redis://:s%40cret@cache:7000") == RedisURL(host: "cache", port: 7000, password: "s@cret"))
        #expect(try RedisURL(parsing: "redis://app:pw@cache") == RedisURL(host: "cache", user: "app", password: "pw"))
        #expect(try RedisURL(parsing: "redis://[::1]:6379") == RedisURL(host: "::1"))
        #expect(try RedisURL(parsing: "redis://app:pw@cache").description == "redis://app:***@cache:6379")
    }

    @Test(arguments: ["", "localhost:6379", "http://x", "rediss://x", "redis://", "redis://x:0", "redis://x:99999", "redis://x:p", "redis://x/db"])
    func badURLsAreRefused(text: String) {
        #expect(throws: RedisError.self) { try RedisURL(parsing: text) }
    }

    @Test func configRefusesBadRedisURLs() throws {
        let config = try ConfigLoader.parse("hub:\n  redis:\n    url: redis://cache:6380/1\n", file: "ok.yaml", environment: [:])
        #expect(config.hub.redisURL == "redis://cache:6380/1")
        let errors = try #require(throws: ConfigErrors.self) {
            try ConfigLoader.parse("hub:\n  redis:\n    url: rediss://cache\n", file: "tls.yaml", environment: [:])
        }
        #expect(errors.issues.map(\.description) == [
            "tls.yaml:3:10: hub.redis.url: invalid Redis URL: rediss:// (TLS) is not supported by this build's hiredis; use redis://",
        ])
    }

    @Test func offsetsMapToStreamIDs() {
        #expect(RedisHubBackplane.streamID(offset: 1_764_836_741_000_005) == "1764836741000-5")
        #expect(RedisHubBackplane.offset(streamID: "1764836741000-5") == 1_764_836_741_000_005)
        #expect(RedisHubBackplane.offset(streamID: "1764836741000-1000") == nil)
        #expect(RedisHubBackplane.offset(streamID: "x-1") == nil)
        #expect(RedisHubBackplane.streamID(offset: -1) == nil)
    }

    @Test func recoveryRules() throws {
        func entry(_ offset: Int) -> RedisStreamEntry {
            RedisStreamEntry(id: RedisHubBackplane.streamID(offset: offset)!, fields: [("e", Array("{\"n\":\(offset)}".utf8))])
        }
        let now = 2_000_000
        let newest = RedisHubBackplane.streamID(offset: 1_999_000_002)
        func missed(_ offset: Int, kept: Bool = true, after: [Int], newest: String? = newest, limit: Int = 10) throws -> [Int]? {
            try RedisHubBackplane.missed(organization: "o", offset: offset, now: now, newest: newest, offsetKept: kept,
                                         after: after.map(entry), windowMilliseconds: 5000, limit: limit)?.map(\.offset)
        }
        #expect(try missed(1_999_000_000, after: [1_999_000_001, 1_999_000_002]) == [1_999_000_001, 1_999_000_002])
        #expect(try missed(1_999_000_002, after: []) == [])
        #expect(try missed(1_999_000_003, after: []) == nil)  // from the future
        #expect(try missed(1_999_000_000, kept: false, after: [1_999_000_001, 1_999_000_002]) == nil)  // trimmed
        #expect(try missed(1_999_000_000, after: [1_999_000_001, 1_999_000_002], limit: 1) == nil)  // too many
        #expect(try missed(1_000_000_000, after: [1_000_000_001, 1_999_000_002]) == nil)  // older than the window
        #expect(try missed(5, after: [], newest: nil) == nil)  // no history
    }

    @Test func clusterPacketsMatchLocalOnes() throws {
        let event = GatewayEvent(
            type: .accountConnected, organizationId: "org",
            data: .account(Account(id: "a1", organizationId: "org", platform: "loopback", status: .connected, createdAt: Date())))
        var writer = JSONWriter()
        writer.write(event)
        #expect(Hub.eventPacket(json: writer.bytes, offset: 42) == Hub.eventPacket(event, offset: 42))
    }

    @Test func connectionAgainstRealRedis() throws {
        guard let server = try RedisTestServer.start() else { return }
        defer { server.stop() }
        let connection = try RedisConnection(url: RedisURL(host: "127.0.0.1", port: server.port))
        #expect(try connection.command(["PING"]) == .status("PONG"))
        let binary: [UInt8] = [0, 255, 13, 10, 36, 42]
        #expect(try connection.command([Array("SET".utf8), Array("k".utf8), binary]) == .status("OK"))
        #expect(try connection.command(["GET", "k"]) == .bulk(binary))
        #expect(try connection.command(["GET", "missing"]) == .null)
        if case .error(let message) = try connection.command(["NOSUCHCOMMAND"]) {
            #expect(message.contains("unknown command"))
        } else {
            Issue.record("expected an error reply")
        }
        let replies = try connection.pipeline([["INCR", "n"], ["INCR", "n"], ["LRANGE", "nothing", "0", "-1"]].map { $0.map { Array($0.utf8) } })
        #expect(replies == [.integer(1), .integer(2), .array([])])
        _ = try connection.command(["XADD", "s", "5-1", "e", "x"]).checked()
        let entries = RedisStreamEntry.entries(from: try connection.command(["XRANGE", "s", "-", "+"]))
        #expect(entries == [RedisStreamEntry(id: "5-1", fields: [("e", Array("x".utf8))])])
        #expect(try RedisHubScripts.recover.run(on: connection, keys: ["s"], arguments: [Array("5-1".utf8), Array("2".utf8)]).array?.count == 4)
        server.stop()
        #expect(throws: RedisError.self) { try connection.command(["PING"]) }
        #expect(!connection.isOpen)
    }

    @Test func passwordAndDatabaseFromTheURL() throws {
        guard let server = try RedisTestServer.start(extra: ["--requirepass", "s3cret pass"]) else { return }
        defer { server.stop() }
        let connection = try RedisConnection(url: RedisURL(parsing: "redis://:s3cret%20pass@127.0.0.1:\(server.port)/3"))
        #expect(try connection.command(["SET", "k", "v"]) == .status("OK"))
        let other = try RedisConnection(url: RedisURL(host: "127.0.0.1", port: server.port, password: "s3cret pass"))
        #expect(try other.command(["GET", "k"]) == .null)  // database 0
        #expect(try other.command(["SELECT", "3"]) == .status("OK"))
        #expect(try other.command(["GET", "k"]) == .bulk(Array("v".utf8)))
        #expect(throws: RedisError.self) { try RedisConnection(url: RedisURL(host: "127.0.0.1", port: server.port, password: "wrong")) }
        let anonymous = try RedisConnection(url: RedisURL(host: "127.0.0.1", port: server.port))
        guard case .error(let message) = try anonymous.command(["GET", "k"]) else {
            Issue.record("no auth error")
            return
        }
        #expect(message.hasPrefix("NOAUTH"))
    }

    @Test func connectingToNothingFailsQuickly() throws {
        let start = ContinuousClock.now
        #expect(throws: RedisError.self) { try RedisConnection(url: RedisURL(host: "127.0.0.1", port: 1)) }
        #expect(start.duration(to: .now) < .seconds(3))
    }
}

/// A throwaway redis-server on a free port (nil when redis-server is not installed).
final class RedisTestServer {
    let process: Process
    let port: Int

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    static func start(extra: [String] = []) throws -> RedisTestServer? {
        guard let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile)
        else { return nil }
        let port = Int.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = RedisTestServer(process: process, port: port)
        for _ in 0..<100 {
            if let connection = try? RedisConnection(url: RedisURL(host: "127.0.0.1", port: port)),
                let reply = try? connection.command(["PING"]), reply == .status("PONG") || reply.isAuthError
            {
                return server
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        server.stop()
        throw RedisError.connection("redis-server did not start on port \(port)")
    }

    /// SIGTERM, then polling (Process.waitUntilExit spins a run loop, which can hang inside
    /// Swift Testing's tasks).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<200 where process.isRunning { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

extension RedisReply {
    fileprivate var isAuthError: Bool {
        if case .error(let message) = self { message.hasPrefix("NOAUTH") } else { false }
    }
}
