import Foundation
import GatewayCore

// `make bench`: runs every benchmark in one process and writes docs/BENCHMARKS.md's tables.
// Usage: gateway-bench [--quick] [--only ingest|ingest-postgres|api|mtproto] [--output docs/BENCHMARKS.md]

// The gateway in this process runs as `gateway serve` would.
MallocTuning.keepFreedMemory()
let arguments = CommandLine.arguments
let quick = arguments.contains("--quick")
let output = arguments.firstIndex(of: "--output").map { arguments[$0 + 1] }
let only = arguments.firstIndex(of: "--only").map { arguments[$0 + 1] }
func selected(_ name: String) -> Bool { only == nil || only == name }
let pluginDirectory = PluginHost.defaultPluginDirectory
let burst = quick ? 50_000 : 200_000
let prefills = quick ? [1, 10_000] : [1, 10_000, 1_000_000]

func format(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

if selected("ingest") {
    let rawBenchmark = RawSQLiteBenchmark(rows: burst, batchSize: GatewayConfig().storage.batchSize)
    var raw: [Double] = []
    for prefill in prefills { raw.append(try await rawBenchmark.run(prefill: prefill)) }
    let ingest = try await IngestBenchmark(pluginDirectory: pluginDirectory, burst: burst).run(prefills: prefills)

    var report = """
        ### Ingest: loopback plugin → router → SQLite store

        Burst of \(burst) messages over 1,000 chats; throughput from the first emit to the last commit.
        Latency is emit → committed → on the hub, at a paced 20,000 messages/s.
        Reference, same run: raw SQLite batched insert of the same rows into the same schema and
        pragmas, one prepared statement, no pipeline (the physical limit), at the same store size.

        | stored before | messages/s | raw SQLite rows/s | % of raw | p50 latency (ms) | p99 latency (ms) |
        |---:|---:|---:|---:|---:|---:|

        """
    for (result, rawRate) in zip(ingest, raw) {
        report += "| \(result.stored) | \(format(result.messagesPerSecond)) | \(format(rawRate)) | \(format(result.messagesPerSecond / rawRate * 100, 1))% | \(format(result.p50, 2)) | \(format(result.p99, 2)) |\n"
    }
    print(report)
    if let output { try BenchmarkReport.replaceSection("ingest", with: report, in: output) }
}

if selected("ingest-postgres") {
    // The same ingest on both stores, in the same run: PostgreSQL (a throwaway local server, see
    // BenchPostgres) against the SQLite file.
    let postgres = try BenchPostgres()
    defer { postgres.shutdown() }
    let sizes = quick ? [1, 10_000] : [1, 100_000]
    let sqlite = try await IngestBenchmark(pluginDirectory: pluginDirectory, burst: burst).run(prefills: sizes)
    let onPostgres = try await IngestBenchmark(pluginDirectory: pluginDirectory, burst: burst) {
        .postgres(url: try postgres.createDatabase())
    }.run(prefills: sizes)
    var report = """
        ### Ingest: PostgreSQL store vs SQLite store

        The ingest benchmark above (loopback plugin → router → store, burst of \(burst) messages over
        1,000 chats, latency at a paced 20,000 messages/s) run on both stores in the same process.
        PostgreSQL 15 from Debian on the same machine over TCP (127.0.0.1), default settings but
        `synchronous_commit=off` (like SQLite's `synchronous=NORMAL`: a commit survives a crash of
        the gateway, not of the OS); each batch is one transaction, its new messages one
        `INSERT … SELECT FROM unnest(column arrays) ON CONFLICT DO NOTHING RETURNING id`.

        | stored before | SQLite messages/s | PostgreSQL messages/s | PostgreSQL / SQLite | PostgreSQL p50 (ms) | PostgreSQL p99 (ms) |
        |---:|---:|---:|---:|---:|---:|

        """
    for (lite, pg) in zip(sqlite, onPostgres) {
        report += "| \(lite.stored) | \(format(lite.messagesPerSecond)) | \(format(pg.messagesPerSecond)) | \(format(pg.messagesPerSecond / lite.messagesPerSecond * 100, 1))% | \(format(pg.p50, 2)) | \(format(pg.p99, 2)) |\n"
    }
    print(report)
    if let output { try BenchmarkReport.replaceSection("ingest-postgres", with: report, in: output) }
}

if selected("api") {
    let apiMessages = quick ? 100_000 : 1_000_000
    let api = try await APIBenchmark(pluginDirectory: pluginDirectory, messages: apiMessages, chats: 10_000, duration: quick ? 3 : 10).run()
    var apiReport = """
        ### REST API: reads on a large store

        \(apiMessages) messages across 10,000 chats in SQLite; wrk (1 thread, 16 connections, loopback)
        shares the 2 cores with the server. Reference, same run: the same server's `/health`.
        Server CPU is the gateway process's user + system time per request, which other load on
        the machine does not change; "per CPU-s" compares requests per server CPU-second with /health's.
        The listings copy unchanged rows' JSON from their caches (ARCHITECTURE, "Hot paths"), so
        repeated requests mostly take that path; "cache off" (`storage.sqlite.listing_cache_mb: 0`,
        same store, second server) reads and writes every row, as when all of them changed.

        | endpoint | requests/s | % of /health | p50 | p99 | server CPU per request | % of /health per CPU-s |
        |---|---:|---:|---:|---:|---:|---:|

        """
    let ceiling = api.first?.requestsPerSecond ?? 1
    let ceilingCPU = api.first?.serverCPUMicroseconds ?? 1
    for result in api {
        apiReport += "| `\(result.name)` | \(format(result.requestsPerSecond)) | \(format(result.requestsPerSecond / ceiling * 100, 1))% | \(result.p50) | \(result.p99) | \(format(result.serverCPUMicroseconds, 1)) µs | \(format(ceilingCPU / result.serverCPUMicroseconds * 100, 1))% |\n"
    }
    print(apiReport)
    if let output {
        try BenchmarkReport.replaceSection("api", with: apiReport, in: output)
        print("updated \(output)")
    }
}

if selected("mtproto") {
    let mtprotoReport = try await MTProtoBenchmark(quick: quick).report()
    print(mtprotoReport)
    if let output { try BenchmarkReport.replaceSection("mtproto", with: mtprotoReport, in: output) }
}
