import Foundation
import Testing

@testable import GatewayCore

/// kill -9 of a real gateway process in the middle of an ingest burst.
@Suite(.serialized) struct CrashRecoveryTests {
    static let total = 100_000

    @Test func everyAcknowledgedMessageSurvivesKillNineAndNoneIsStoredTwice() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("gateway.sqlite")
        let config = try directory.write("gateway.yaml", """
            storage:
              sqlite: {path: \(database)}
            plugins:
              - name: loopback
                path: \(BuildProducts.directory)/libLoopbackChannel.so
                config:
                  accounts: [{accountId: acc-1, organizationId: org-1}]
                  burst: {accountId: acc-1, count: \(Self.total), chats: 50, ratePerSecond: 10000}
            logging: {level: warning}
            """)

        // First run: kill -9 once the store has acknowledged part of the burst.
        let first = try GatewayProcess(config: config, port: try freePort(), logPath: directory.file("first.log"))
        var acknowledged = 0
        let midway = try await eventually(timeout: .seconds(60)) {
            acknowledged = try await first.health()?.store.messages ?? 0
            return acknowledged >= 5_000
        }
        first.kill()
        #expect(midway, "the burst never reached 5000 stored messages: \(first.log)")
        #expect(acknowledged < Self.total, "the kill should land mid-burst")

        let afterCrash = try countStored(in: database)
        #expect(afterCrash.rows >= acknowledged, "everything /health reported as stored is still there")
        #expect(afterCrash.rows == afterCrash.distinct)

        // Second run: the plugin redelivers the whole burst; the store keeps each message once.
        let second = try GatewayProcess(config: config, port: try freePort(), logPath: directory.file("second.log"))
        let complete = try await eventually(timeout: .seconds(120)) {
            guard let health = try await second.health() else { return false }
            return health.store.messages == Self.total && health.pipeline.backlog == 0
        }
        second.kill(signal: SIGTERM)
        #expect(complete, "not every message was stored after the restart: \(second.log)")
        let final = try countStored(in: database)
        #expect(final.rows == Self.total)
        #expect(final.distinct == Self.total)
    }

    private func countStored(in path: String) throws -> (rows: Int, distinct: Int) {
        let connection = try SQLiteConnection(path: path)
        let statement = try connection.prepare(
            "SELECT COUNT(*), COUNT(DISTINCT account_id || '/' || chat_id || '/' || external_id) FROM messages")
        _ = try statement.step()
        return (statement.int(0) ?? -1, statement.int(1) ?? -1)
    }
}
