import CHiredis
import Foundation

/// One synchronous hiredis connection. Every call blocks the calling thread (up to the command
/// timeout), so a connection belongs to one dedicated thread (`RedisWorker`, the hub's stream
/// reader) — never to Swift's cooperative pool or an event loop. Commands are argv arrays of
/// bytes (binary-safe); replies are decoded into `RedisReply`. After an `io` error the
/// connection is unusable: close it and connect again.
final class RedisConnection {
    private var context: UnsafeMutablePointer<redisContext>?
    let url: RedisURL

    /// Connects (TCP, `connectTimeout`), sets the command timeout and TCP keepalive, then
    /// authenticates and selects the database when the URL asks for it.
    init(url: RedisURL, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(5)) throws(RedisError) {
        self.url = url
        _ = Self.ignoreSIGPIPE
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), Self.timeval(connectTimeout)) else {
            throw .connection("out of memory")
        }
        self.context = context
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            close()
            throw .connection("\(url.host):\(url.port): \(message)")
        }
        guard redisSetTimeout(context, Self.timeval(commandTimeout)) == REDIS_OK else {
            close()
            throw .connection("cannot set the command timeout")
        }
        _ = redisEnableKeepAlive(context)
        do {
            if let password = url.password {
                let auth = url.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try command(auth).checked()
            }
            if url.database != 0 { _ = try command(["SELECT", String(url.database)]).checked() }
        } catch {
            close()
            throw error.breaksConnection ? error : .connection("\(error)")
        }
    }

    deinit { close() }

    /// hiredis writes with write(2): a write to a connection Redis closed would raise SIGPIPE and
    /// end the process. Ignored once, process-wide (the failed write then reports EPIPE).
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    var isOpen: Bool { context != nil }

    func close() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Sends one command and waits for its reply. An error reply is returned (`.error`), not thrown.
    func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try pipeline([arguments])[0]
    }

    /// Sends several commands in one write and reads their replies in order.
    func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        guard let context else { throw .io("connection closed") }
        for arguments in commands {
            let status = Self.withArgv(arguments) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard status == REDIS_OK else { throw failure(context) }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw failure(context) }
            defer { freeReplyObject(raw) }
            replies.append(Self.decode(raw.assumingMemoryBound(to: redisReply.self)))
        }
        return replies
    }

    /// The context's error; the connection is closed (hiredis contexts do not recover).
    private func failure(_ context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let message = Self.errorText(context)
        close()
        return .io(message.isEmpty ? "connection lost" : message)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: &context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func decode(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let r = reply.pointee
        func text() -> [UInt8] {
            guard let str = r.str, r.len > 0 else { return [] }
            return str.withMemoryRebound(to: UInt8.self, capacity: r.len) { Array(UnsafeBufferPointer(start: $0, count: r.len)) }
        }
        switch r.type {
        case REDIS_REPLY_STRING: return .bulk(text())
        case REDIS_REPLY_STATUS: return .status(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int(r.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            guard let elements = r.element else { return .array([]) }
            return .array((0..<r.elements).map { index in elements[index].map(decode) ?? .null })
        default: return .error("unsupported reply type \(r.type)")
        }
    }

    /// Calls `body` with C argv/argvlen arrays pointing at the arguments' bytes.
    private static func withArgv<R>(_ arguments: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        // One contiguous buffer holding every argument; argv points into it.
        let total = arguments.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(total, 1))
        defer { storage.deallocate() }
        var argv = [UnsafePointer<CChar>?](repeating: nil, count: arguments.count)
        var lengths = [Int](repeating: 0, count: arguments.count)
        var position = 0
        for (index, argument) in arguments.enumerated() {
            argument.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { (storage + position).update(from: base.assumingMemoryBound(to: CChar.self), count: bytes.count) }
            }
            argv[index] = UnsafePointer(storage + position)
            lengths[index] = argument.count
            position += argument.count
        }
        return argv.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { lengths in body(Int32(arguments.count), argv.baseAddress!, lengths.baseAddress!) }
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
