import Foundation
import Synchronization
import Testing

@testable import GatewayCore

/// A throwaway PostgreSQL server (Debian's postgresql package) for the store tests: `initdb` in a
/// temporary directory (as the `postgres` user when the tests run as root — PostgreSQL refuses
/// root), `pg_ctl start` on a free 127.0.0.1 port with its unix socket beside the data, password
/// (SCRAM) login over TCP. Started once per test process on first use, stopped at exit.
final class TestPostgres: Sendable {
    static let password = "gateway-test-pw"
    let root: String
    let port: Int
    let binDirectory: String
    private let asPostgres: Bool
    private let names = Counter()

    /// The process's server (nil when PostgreSQL's server binaries are not installed).
    static let shared: Result<TestPostgres, TestFailure> = {
        do { return .success(try TestPostgres()) } catch let error as TestFailure { return .failure(error) } catch {
            return .failure(TestFailure("\(error)"))
        }
    }()

    static func server() throws -> TestPostgres { try shared.get() }

    /// A server of its own, for a test that stops and starts it (the shared one serves suites
    /// running in parallel); stopped at exit like the shared one.
    static func dedicated() throws -> TestPostgres { try TestPostgres() }

    private init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).sorted().last(where: {
            FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb")
        }) else {
            throw TestFailure("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: apt-get install postgresql")
        }
        binDirectory = "/usr/lib/postgresql/\(version)/bin"
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gw-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        asPostgres = geteuid() == 0
        if asPostgres {
            guard let user = getpwnam("postgres") else { throw TestFailure("running as root, but there is no postgres user") }
            chown(root, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        chmod(root, 0o755)
        let passwordFile = root + "/pw"
        try Self.password.write(toFile: passwordFile, atomically: false, encoding: .utf8)
        if asPostgres, let user = getpwnam("postgres") { chown(passwordFile, user.pointee.pw_uid, user.pointee.pw_gid) }
        port = try freePort()
        try command("initdb", ["-D", root + "/data", "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                               "--pwfile=" + passwordFile, "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        try start()
        TestPostgres.stopAtExit.withLock { $0.append((binDirectory, root, asPostgres)) }
        atexit {
            for (bin, root, asPostgres) in TestPostgres.stopAtExit.withLock({ $0 }) {
                let stop = [bin + "/pg_ctl", "-D", root + "/data", "-m", "immediate", "-w", "stop"]
                _ = try? run(asPostgres ? "/usr/sbin/runuser" : stop[0], asPostgres ? ["-u", "postgres", "--"] + stop : Array(stop.dropFirst()))
                try? FileManager.default.removeItem(atPath: root)
            }
        }
    }

    static let stopAtExit = Mutex<[(String, String, Bool)]>([])

    /// Starts the server (again) on its port; returns once it accepts connections.
    func start() throws {
        try command("pg_ctl", ["-D", root + "/data", "-l", root + "/postgres.log", "-w", "-t", "60", "-o",
                               "-c listen_addresses=127.0.0.1 -p \(port) -k \(root) -c fsync=off -c synchronous_commit=off",
                               "start"])
    }

    /// Stops the server: `fast` disconnects the sessions (they see 57P01 admin shutdown),
    /// `immediate` is the closest to a crash (sessions lose their connection).
    func stop(mode: String = "fast") throws {
        try command("pg_ctl", ["-D", root + "/data", "-m", mode, "-w", "-t", "60", "stop"])
    }

    /// Runs a server tool; its output goes to a file, not a pipe: the server that `pg_ctl start`
    /// leaves running would inherit a pipe and keep it open for ever.
    @discardableResult
    private func command(_ tool: String, _ arguments: [String]) throws -> String {
        let path = binDirectory + "/" + tool
        let outputPath = root + "/\(tool)-\(UUID().uuidString.prefix(8)).out"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = Process()
        // Through a shell that closes every inherited descriptor but 0-2 first: the server that
        // `pg_ctl start` leaves running must not hold one of ours (Foundation's Process waits
        // for its own descriptor to close before it reports the exit).
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", closeInheritedDescriptors, "sh"]
            + (asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", path] : [path]) + arguments
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? output.close()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else { throw TestFailure("\(tool) failed (\(process.terminationStatus)): \(text)") }
        return text
    }

    func url(database: String, password: String = TestPostgres.password) -> String {
        "postgres://postgres:\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// A new empty database; returns its URL.
    func createDatabase() throws -> String {
        let name = "t\(getpid())_\(names.next())"
        try command("psql", ["-h", root, "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt",
                             "-c", "CREATE DATABASE \(name)"])
        return url(database: name)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}

/// The two store backends the store tests run against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }

    /// A fresh, migrated store of this kind (a new SQLite file in `directory`, or a new database).
    func makeStore(in directory: TemporaryDirectory) async throws -> any GatewayStore & PluginStateStore {
        try await Gateway.openStore(backend(in: directory), logger: testLogger)
    }

    func backend(in directory: TemporaryDirectory) throws -> StorageConfig.Backend {
        switch self {
        case .sqlite: return .sqlite(path: directory.file("store-\(UUID().uuidString.prefix(8)).sqlite"))
        case .postgres: return .postgres(url: try TestPostgres.server().createDatabase())
        }
    }
}

/// A shell script that closes every descriptor above 2, then runs its arguments.
let closeInheritedDescriptors = """
    for fd in $(ls /proc/self/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; exec "$@"
    """
