import Foundation

/// A PostgreSQL server for the ingest comparison: `$BENCH_DATABASE_SERVER` (a URL without the
/// database name, e.g. postgres://user:pw@host:5432) when set, else a throwaway one started here
/// from Debian's postgresql package (initdb + pg_ctl in a temporary directory, as the `postgres`
/// user when run as root), stopped when the benchmark exits. Settings: PostgreSQL's defaults
/// except `synchronous_commit=off` — like the SQLite store's `synchronous=NORMAL`, a commit
/// survives a crash of the gateway but not of the OS; fsync stays on.
final class BenchPostgres: @unchecked Sendable {
    private let serverURL: String
    private var stop: (() -> Void)?
    private var databases = 0
    private let psql: (String) throws -> Void

    init() throws {
        if let external = ProcessInfo.processInfo.environment["BENCH_DATABASE_SERVER"], !external.isEmpty {
            serverURL = external.hasSuffix("/") ? String(external.dropLast()) : external
            let url = serverURL
            psql = { sql in try Self.run("/usr/bin/psql", [url + "/postgres", "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], asPostgres: false) }
            return
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else {
            throw BenchError("PostgreSQL is not installed (apt-get install postgresql) and BENCH_DATABASE_SERVER is not set")
        }
        let bin = "/usr/lib/postgresql/\(version)/bin"
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("gw-bench-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let asPostgres = geteuid() == 0
        if asPostgres, let user = getpwnam("postgres") { chown(root, user.pointee.pw_uid, user.pointee.pw_gid) }
        chmod(root, 0o755)
        let port = Int.random(in: 20_000...40_000)
        try Self.run(bin + "/initdb", ["-D", root + "/data", "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"],
                     asPostgres: asPostgres)
        try Self.run(bin + "/pg_ctl", ["-D", root + "/data", "-l", root + "/log", "-w", "-o",
                                      "-c listen_addresses=127.0.0.1 -p \(port) -k \(root) -c synchronous_commit=off -c shared_buffers=256MB",
                                      "start"], asPostgres: asPostgres)
        serverURL = "postgres://postgres@127.0.0.1:\(port)"
        psql = { sql in
            try Self.run(bin + "/psql", ["-h", root, "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                                         "-qAt", "-c", sql], asPostgres: asPostgres)
        }
        stop = {
            _ = try? Self.run(bin + "/pg_ctl", ["-D", root + "/data", "-m", "fast", "-w", "stop"], asPostgres: asPostgres)
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// A new empty database; its URL.
    func createDatabase() throws -> String {
        databases += 1
        let name = "bench_\(getpid())_\(databases)"
        try psql("CREATE DATABASE \(name)")
        return "\(serverURL)/\(name)?sslmode=disable"
    }

    func shutdown() {
        stop?()
        stop = nil
    }

    private static func run(_ executable: String, _ arguments: [String], asPostgres: Bool) throws {
        let process = Process()
        // Through a shell that closes every inherited descriptor but 0-2 first: the server that
        // `pg_ctl start` leaves running must not hold one of ours (Foundation's Process waits
        // for its own descriptor to close before it reports the exit).
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", closeInheritedDescriptors, "sh"]
            + (asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] : [executable]) + arguments
        // Output to a file, not a pipe: the server `pg_ctl start` leaves running would inherit
        // the pipe and keep it open.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("gw-bench-pg-\(UUID().uuidString).out").path
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? output.close()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable) failed: \((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")")
        }
    }
}

/// A shell script that closes every descriptor above 2, then runs its arguments.
let closeInheritedDescriptors = """
    for fd in $(ls /proc/self/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; exec "$@"
    """
