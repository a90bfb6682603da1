import CEmail
import Foundation

/// Where a mailbox was read up to: UIDs are only meaningful within one UIDVALIDITY.
public struct MailboxProgress: Codable, Sendable, Equatable {
    public var uidValidity: UInt32
    public var lastUid: UInt32

    public init(uidValidity: UInt32, lastUid: UInt32) {
        self.uidValidity = uidValidity
        self.lastUid = lastUid
    }
}

/// A fetched message and its UID. For a message over `maxMessageBytes` only the header is
/// fetched: `raw` is the header and `omittedSize` the size of the whole message.
public struct FetchedMessage: Sendable {
    public var uid: UInt32
    public var raw: Data
    public var omittedSize: Int?

    public init(uid: UInt32, raw: Data, omittedSize: Int? = nil) {
        self.uid = uid
        self.raw = raw
        self.omittedSize = omittedSize
    }
}

/// What the watcher tells its owner, on the watcher's thread.
public protocol InboxWatcherDelegate: AnyObject, Sendable {
    /// New messages, ascending UIDs. Emit them, then persist `progress`: a crash in between
    /// fetches them again (deduplicated downstream) rather than skipping them.
    func watcher(_ watcher: InboxWatcher, fetched messages: [FetchedMessage], progress: MailboxProgress)
    /// The mailbox is selected and watched (after the first connect and after each reconnect).
    func watcherConnected(_ watcher: InboxWatcher, idle: Bool)
    /// The connection failed; the watcher retries after `retryIn`.
    func watcher(_ watcher: InboxWatcher, failed error: MailError, attempt: Int, retryIn: Duration)
    /// Something worth a log line (UIDVALIDITY changed, a message vanished, …).
    func watcher(_ watcher: InboxWatcher, note: String)
}

/// Watches one IMAP mailbox on a thread of its own: fetch everything after the last UID, then
/// IDLE until the server reports something (or poll every `pollInterval` without IDLE), and on
/// any failure reconnect with exponential backoff and jitter.
public final class InboxWatcher: @unchecked Sendable {
    public struct Options: Sendable {
        public var mailbox = "INBOX"
        /// IDLE when the server offers it; false: always poll.
        public var useIdle = true
        public var pollInterval: Duration = .seconds(30)
        /// An IDLE is renewed after this long (RFC 2177: before the server's 30 min timeout).
        public var idleRenewal: Duration = .seconds(25 * 60)
        /// Messages already in the mailbox when it is first watched that are fetched too.
        public var initialHistory = 0
        /// After a UIDVALIDITY change, at most this many (the newest) messages are fetched again.
        public var resyncLimit = 1_000
        /// Messages fetched per delivered batch.
        public var batchSize = 20
        /// Larger messages are not downloaded: their header is, and the event says so.
        public var maxMessageBytes = 50 << 20
        /// Backoff: 1 s doubling up to this, with ±20 % jitter.
        public var maxBackoff: Duration = .seconds(60)

        public init() {}
    }

    public let server: MailServer
    public let options: Options
    private weak var delegate: (any InboxWatcherDelegate)?
    private let lock = NSLock()
    private var stopping = false
    private var progress: MailboxProgress?
    private let finished = DispatchSemaphore(value: 0)
    private var started = false

    public init(server: MailServer, options: Options, progress: MailboxProgress?, delegate: any InboxWatcherDelegate) {
        self.server = server
        self.options = options
        self.progress = progress
        self.delegate = delegate
    }

    public func start() {
        lock.withLock { started = true }
        let thread = Thread { [self] in
            cemail_block_sigpipe()
            run()
            finished.signal()
        }
        thread.name = "imap \(server.username)@\(server.host)"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Asks the thread to stop (waking it from IDLE) and waits for it (at most `timeout`).
    public func stop(timeout: Duration = .seconds(10)) {
        let (wasStarted, mailbox) = lock.withLock {
            stopping = true
            return (started, connection)
        }
        mailbox?.interrupt()
        guard wasStarted else { return }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        _ = finished.wait(timeout: .now() + seconds)
    }

    private var isStopping: Bool { lock.withLock { stopping } }
    /// The open connection, for `stop()` to interrupt.
    private var connection: IMAPMailbox?

    private func run() {
        var attempt = 0
        while !isStopping {
            do {
                let mailbox = try IMAPMailbox(server: server)
                let stopped = lock.withLock {
                    connection = mailbox
                    return stopping
                }
                defer {
                    lock.withLock { connection = nil }
                    mailbox.close()
                }
                if stopped { break }
                try watch(mailbox, onConnected: { attempt = 0 })
            } catch {
                if isStopping { break }
                attempt += 1
                let delay = Self.backoff(attempt: attempt, maximum: options.maxBackoff)
                delegate?.watcher(self, failed: error, attempt: attempt, retryIn: delay)
                sleep(delay)
            }
        }
    }

    private func watch(_ mailbox: IMAPMailbox, onConnected: () -> Void) throws(MailError) {
        let selection = try mailbox.select(options.mailbox)
        var current: MailboxProgress
        if let saved = progress, saved.uidValidity == selection.uidValidity {
            current = saved
        } else {
            let all = try mailbox.uids(after: 0)
            if let saved = progress {
                delegate?.watcher(self, note: "UIDVALIDITY of \(options.mailbox) changed from \(saved.uidValidity) to \(selection.uidValidity): "
                                  + "fetching the newest \(min(all.count, options.resyncLimit)) messages again (duplicates are dropped by Message-ID)")
                current = MailboxProgress(uidValidity: selection.uidValidity, lastUid: Self.startUid(all, keep: options.resyncLimit))
            } else {
                current = MailboxProgress(uidValidity: selection.uidValidity, lastUid: Self.startUid(all, keep: options.initialHistory))
            }
            progress = current
            delegate?.watcher(self, fetched: [], progress: current)
        }
        let idle = options.useIdle && mailbox.supportsIdle
        delegate?.watcherConnected(self, idle: idle)
        var caughtUp = false
        while !isStopping {
            let found = try mailbox.messages(after: current.lastUid)
            var index = 0
            while index < found.count, !isStopping {
                let chunk = found[index..<min(index + options.batchSize, found.count)]
                var batch: [FetchedMessage] = []
                for (uid, size) in chunk {
                    let tooLarge = size > options.maxMessageBytes
                    if let raw = try mailbox.fetch(uid: uid, headerOnly: tooLarge) {
                        batch.append(FetchedMessage(uid: uid, raw: raw, omittedSize: tooLarge ? size : nil))
                    } else {
                        delegate?.watcher(self, note: "message UID \(uid) vanished before it was fetched")
                    }
                }
                current.lastUid = chunk.last!.uid
                progress = current
                delegate?.watcher(self, fetched: batch, progress: current)
                index += options.batchSize
            }
            if isStopping { break }
            if !caughtUp {
                // The backoff starts over only once a whole round worked, so a server that fails
                // right after SELECT is not retried every second.
                caughtUp = true
                onConnected()
            }
            if idle {
                _ = try mailbox.idle(maximum: options.idleRenewal) { self.isStopping }
            } else {
                sleep(options.pollInterval)
                if !isStopping { try mailbox.noop() }
            }
        }
    }

    /// The UID to resume after so that the newest `keep` of `uids` are fetched.
    public static func startUid(_ uids: [UInt32], keep: Int) -> UInt32 {
        guard let last = uids.last else { return 0 }
        if keep <= 0 { return last }
        if keep >= uids.count { return 0 }
        return uids[uids.count - keep - 1]
    }

    /// 1 s, 2 s, 4 s … up to `maximum`, each ±20 %.
    public static func backoff(attempt: Int, maximum: Duration) -> Duration {
        let base = min(Double(1 << min(attempt - 1, 16)), Double(maximum.components.seconds))
        return .milliseconds(Int(base * 1000 * Double.random(in: 0.8...1.2)))
    }

    /// Sleeps in short steps so that stop() is noticed quickly.
    private func sleep(_ duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !isStopping, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: min(0.1, Double((deadline - ContinuousClock.now).components.attoseconds) / 1e18 + Double((deadline - ContinuousClock.now).components.seconds)))
        }
    }
}
