import CEmail
import Foundation

/// One logged-in IMAP connection (libetpan), used by one thread at a time; every call blocks.
public final class IMAPMailbox: @unchecked Sendable {
    public struct Selection: Sendable, Equatable {
        public var uidValidity: UInt32
        public var uidNext: UInt32
        public var exists: UInt32
    }

    private var handle: OpaquePointer?
    public let server: MailServer
    /// `interrupt()` comes from another thread: it and `close()` never overlap.
    private let interruptLock = NSLock()

    /// Connects, secures the connection (the certificate is verified before credentials are
    /// sent) and logs in.
    public init(server: MailServer) throws(MailError) {
        self.server = server
        var kind: Int32 = 0
        var error = [CChar](repeating: 0, count: 512)
        let handle = server.withCServer { cServer in
            withUnsafePointer(to: cServer) { cemail_imap_open($0, &kind, &error, error.count) }
        }
        guard let handle else { throw MailError(code: kind, buffer: error) }
        self.handle = handle
    }

    deinit { close() }

    /// LOGOUT and disconnect; idempotent.
    public func close() {
        interruptLock.withLock {
            if let handle { cemail_imap_close(handle) }
            handle = nil
        }
    }

    /// Wakes the thread waiting in `idle` (from any thread).
    public func interrupt() {
        interruptLock.withLock {
            if let handle { cemail_imap_interrupt(handle) }
        }
    }

    private func live() throws(MailError) -> OpaquePointer {
        guard let handle else { throw MailError(.network, "the IMAP connection is closed") }
        return handle
    }

    private func check(_ body: (OpaquePointer, UnsafeMutablePointer<CChar>, Int) -> Int32) throws(MailError) {
        let handle = try live()
        var error = [CChar](repeating: 0, count: 512)
        let code = error.withUnsafeMutableBufferPointer { body(handle, $0.baseAddress!, $0.count) }
        if code != 0 { throw MailError(code: code, buffer: error) }
    }

    public var supportsIdle: Bool { handle.map { cemail_imap_has_idle($0) != 0 } ?? false }

    public func select(_ mailbox: String) throws(MailError) -> Selection {
        var validity: UInt32 = 0, next: UInt32 = 0, exists: UInt32 = 0
        try check { cemail_imap_select($0, mailbox, &validity, &next, &exists, $1, $2) }
        return Selection(uidValidity: validity, uidNext: next, exists: exists)
    }

    /// UIDs greater than `uid`, ascending, with each message's size in bytes.
    public func messages(after uid: UInt32) throws(MailError) -> [(uid: UInt32, size: Int)] {
        var list: UnsafeMutablePointer<UInt32>?
        var sizes: UnsafeMutablePointer<UInt32>?
        var count = 0
        try check { cemail_imap_uids_after($0, uid, &list, &sizes, &count, $1, $2) }
        defer {
            free(list)
            free(sizes)
        }
        guard let list, let sizes else { return [] }
        return (0..<count).map { (list[$0], Int(sizes[$0])) }
    }

    /// UIDs greater than `uid`, ascending.
    public func uids(after uid: UInt32) throws(MailError) -> [UInt32] {
        try messages(after: uid).map(\.uid)
    }

    /// The raw message (or only its header); nil when it was expunged in the meantime.
    public func fetch(uid: UInt32, headerOnly: Bool = false) throws(MailError) -> Data? {
        var data: UnsafeMutablePointer<CChar>?
        var length = 0
        do {
            try check { cemail_imap_fetch($0, uid, headerOnly ? 1 : 0, &data, &length, $1, $2) }
        } catch where error.kind == .notFound {
            return nil
        }
        defer { free(data) }
        return data.map { Data(bytes: $0, count: length) } ?? Data()
    }

    public func markSeen(_ uids: [UInt32]) throws(MailError) {
        try check { handle, error, capacity in uids.withUnsafeBufferPointer { cemail_imap_mark_seen(handle, $0.baseAddress, $0.count, error, capacity) } }
    }

    public func noop() throws(MailError) {
        try check { cemail_imap_noop($0, $1, $2) }
    }

    /// Enters IDLE, waits until the server says something, `stop()` is true (checked every second)
    /// or `maximum` passed, then leaves IDLE. True when the server had something to say.
    public func idle(maximum: Duration, stop: () -> Bool) throws(MailError) -> Bool {
        try check { cemail_imap_idle_start($0, $1, $2) }
        let handle = try live()
        let deadline = ContinuousClock.now + maximum
        var result = 0
        while result == 0, !stop(), ContinuousClock.now < deadline {
            result = Int(cemail_imap_idle_wait(handle, 1))
        }
        if result < 0 { throw MailError(.network, "the IMAP connection was lost while idle") }
        try check { cemail_imap_idle_done($0, $1, $2) }
        return result > 0
    }
}
