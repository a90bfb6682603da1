import ChannelKit
import EmailCore
import Foundation

/// One email account: its IMAP watcher (a thread of its own), its SMTP thread, its conversations
/// and its status, turned into gateway events. A class with a lock rather than an actor: the
/// watcher delivers on its own thread and must persist progress synchronously, before it fetches on.
final class EmailAccount: InboxWatcherDelegate, @unchecked Sendable {
    let accountId: String
    private let host: ChannelHost
    private let settings: EmailSettings
    private let persistAccount: @Sendable (SavedEmailAccount) -> Void
    private let persistMailbox: @Sendable (String, SavedMailbox) -> Void
    /// Blocking SMTP (and validation) calls run here, never on Swift's cooperative pool.
    private let worker: BlockingThread

    private let lock = NSLock()
    private var saved: SavedEmailAccount
    private var mailbox: SavedMailbox
    private var status: AccountStatus = .connecting
    private var lastError: String?
    private var watcher: InboxWatcher?
    /// idempotencyKey → result of sends this process made (a retried send is not sent twice).
    private var recentSends: [String: SendResult] = [:]
    private var recentOrder: [String] = []

    init(saved: SavedEmailAccount, mailbox: SavedMailbox?, host: ChannelHost, settings: EmailSettings,
         persistAccount: @escaping @Sendable (SavedEmailAccount) -> Void,
         persistMailbox: @escaping @Sendable (String, SavedMailbox) -> Void) {
        accountId = saved.accountId
        self.saved = saved
        self.host = host
        self.settings = settings
        self.persistAccount = persistAccount
        self.persistMailbox = persistMailbox
        let mailboxName = saved.config.mailbox
        self.mailbox = mailbox.flatMap { $0.mailbox == mailboxName ? $0 : nil }
            ?? SavedMailbox(mailbox: mailboxName, progress: nil, threads: ThreadIndex(capacity: 5_000), conversations: Conversations())
        worker = BlockingThread(name: "email \(saved.accountId)")
    }

    var config: EmailAccountConfig { lock.withLock { saved.config } }
    /// The account's address; the caller holds `lock`.
    private var ownAddress: String { saved.config.address ?? saved.config.fromAddress ?? "" }

    var state: AccountState {
        lock.withLock { AccountState(status: status, error: lastError, displayName: displayName(saved.config), email: saved.config.address) }
    }

    private func displayName(_ config: EmailAccountConfig) -> String {
        let address = config.address ?? config.fromAddress ?? ""
        return config.displayName.map { "\($0) <\(address)>" } ?? address
    }

    // MARK: Lifecycle

    /// Validates both logins (SMTP: connect, TLS, AUTH; IMAP: login and SELECT), then watches
    /// the mailbox from its current end (or where a saved progress left off).
    func connect() async -> AccountState {
        report(.connecting)
        let config = self.config
        let known = lock.withLock { mailbox.progress }
        let history = settings.initialHistory
        do {
            let start = try await worker.run { () throws -> MailboxProgress in
                try SMTPSender(server: config.smtp).verify()
                let imap = try IMAPMailbox(server: config.imap)
                defer { imap.close() }
                let selection = try imap.select(config.mailbox)
                if let known, known.uidValidity == selection.uidValidity { return known }
                // Start at the mailbox's current end, now: mail appended right after connect is not missed.
                let uids = try imap.uids(after: 0)
                return MailboxProgress(uidValidity: selection.uidValidity, lastUid: InboxWatcher.startUid(uids, keep: history))
            }
            let snapshot = lock.withLock {
                mailbox.progress = start
                saved.enabled = true
                return (saved, mailbox)
            }
            persistAccount(snapshot.0)
            persistMailbox(accountId, snapshot.1)
            // Connected first: the watcher then finds the status set and does not announce it twice.
            let state = report(.connected)
            startWatching()
            return state
        } catch let error as MailError {
            return report(.error, error: Self.describe(error))
        } catch {
            return report(.error, error: "\(error)")
        }
    }

    /// Comes back after a gateway restart: watching starts at once, status follows the watcher.
    func resume() {
        report(.connecting)
        startWatching()
    }

    private func startWatching() {
        let (config, progress) = lock.withLock { (saved.config, mailbox.progress) }
        let watcher = InboxWatcher(server: config.imap, options: settings.watcherOptions(mailbox: config.mailbox),
                                   progress: progress, delegate: self)
        let previous = lock.withLock { () -> InboxWatcher? in
            let previous = self.watcher
            self.watcher = watcher
            return previous
        }
        previous?.stop()
        watcher.start()
    }

    private func stopWatching() async {
        guard let watcher = lock.withLock({ () -> InboxWatcher? in
            defer { self.watcher = nil }
            return self.watcher
        }) else { return }
        // stop() waits for the thread (≤ about a second): not on the cooperative pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                watcher.stop()
                done.resume()
            }
        }
    }

    @discardableResult
    func disconnect() async -> AccountState {
        await stopWatching()
        let snapshot = lock.withLock {
            saved.enabled = false
            return saved
        }
        persistAccount(snapshot)
        return report(.disconnected)
    }

    /// Stops everything for good (logout or plugin close); no status event when `silent`.
    func shutdown(silent: Bool) async {
        await stopWatching()
        worker.stop()
        if !silent { report(.disconnected) }
    }

    // MARK: Watcher events (on the watcher's thread)

    func watcher(_ watcher: InboxWatcher, fetched messages: [FetchedMessage], progress: MailboxProgress) {
        guard isCurrent(watcher) else { return }
        let (mailboxName, own) = lock.withLock { (saved.config.mailbox, ownAddress) }
        var events: [ChannelMessage] = []
        let snapshot: SavedMailbox = lock.withLock {
            for fetched in messages {
                let mapped = InboundMapper.map(fetched, uidValidity: progress.uidValidity, mailbox: mailboxName, accountId: accountId,
                                               ownAddress: own, threads: mailbox.threads)
                mailbox.threads.record(mapped.messageId, in: mapped.message.chatId)
                mailbox.conversations.note(
                    chatId: mapped.message.chatId, messageId: mapped.messageId, references: mapped.references,
                    replyAddress: mapped.replyAddress, subject: mapped.subject, text: mapped.message.text,
                    date: mapped.message.date ?? Date().timeIntervalSince1970, inbound: mapped.inbound,
                    uid: fetched.uid, uidValidity: progress.uidValidity)
                events.append(mapped.message)
            }
            mailbox.progress = progress
            return mailbox
        }
        for event in events where !host.emit(.message(event)) {
            host.log(.warning, "account \(accountId): the gateway refused message \(event.externalId)")
        }
        // After the events: a crash before this line fetches the batch again (deduplicated by the store).
        persistMailbox(accountId, snapshot)
    }

    func watcherConnected(_ watcher: InboxWatcher, idle: Bool) {
        guard isCurrent(watcher) else { return }
        host.log(.info, "account \(accountId): watching \(watcher.options.mailbox) with \(idle ? "IDLE" : "polling")")
        if lock.withLock({ status }) != .connected { report(.connected) }
    }

    func watcher(_ watcher: InboxWatcher, failed error: MailError, attempt: Int, retryIn: Duration) {
        guard isCurrent(watcher) else { return }
        host.log(.warning, "account \(accountId): IMAP failed (attempt \(attempt)), retrying in \(retryIn): \(error.message)")
        report(.error, error: Self.describe(error))
    }

    func watcher(_ watcher: InboxWatcher, note: String) {
        host.log(.info, "account \(accountId): \(note)")
    }

    private func isCurrent(_ watcher: InboxWatcher) -> Bool { lock.withLock { self.watcher === watcher } }

    // MARK: Requests

    func send(_ request: SendRequest) async throws -> SendResult {
        if let earlier = lock.withLock({ recentSends[request.idempotencyKey] }) { return earlier }
        guard lock.withLock({ status }) != .disconnected else {
            throw ChannelError(code: "not_connected", message: "account \(accountId) is disconnected")
        }
        let email = try lock.withLock { try plan(request) }
        let config = self.config
        let data = MIMEBuilder.build(email)
        do {
            let outcome = try await worker.run {
                try SMTPSender(server: config.smtp).send(from: email.from.address, recipients: email.recipients, data: data)
            }
            for refused in outcome.rejected {
                host.log(.warning, "account \(accountId): \(refused.address) refused: \(refused.reply)")
            }
        } catch let error as MailError {
            throw Self.channelError(error)
        }
        let result = SendResult(externalId: email.messageId, date: email.date.timeIntervalSince1970)
        let snapshot = lock.withLock {
            mailbox.threads.record(email.messageId, in: request.chatId)
            mailbox.conversations.note(
                chatId: request.chatId, messageId: email.messageId, references: email.references,
                replyAddress: email.to.first, subject: email.subject, text: email.text, date: result.date, inbound: false)
            recentSends[request.idempotencyKey] = result
            recentOrder.append(request.idempotencyKey)
            if recentOrder.count > 1_000 { recentSends[recentOrder.removeFirst()] = nil }
            return mailbox
        }
        persistMailbox(accountId, snapshot)
        return result
    }

    /// The message a send request becomes: recipients and threading from the chat (a thread id
    /// `<root>` or an address), the Message-ID from the idempotency key.
    private func plan(_ request: SendRequest) throws -> OutgoingEmail {
        let chat = mailbox.conversations[request.chatId]
        let recipient: EmailAddress
        if let chat {
            recipient = chat.replyAddress
        } else if request.chatId.hasPrefix("<") {
            throw ChannelError(code: "CHAT_ID_INVALID", message: "no conversation \(request.chatId) is known to account \(accountId)")
        } else {
            let address = request.chatId.trimmingCharacters(in: .whitespaces)
            guard Self.looksLikeAddress(address) else {
                throw ChannelError(code: "RECIPIENT_INVALID", message: "\"\(request.chatId)\" is neither a known conversation nor an email address")
            }
            recipient = EmailAddress(address: address)
        }
        let own = ownAddress
        let domain = own.split(separator: "@").last.map(String.init) ?? "gateway.invalid"
        let messageId = "\(Digest.sha256Hex("\(accountId)\u{0}\(request.idempotencyKey)").prefix(32))@\(domain)"
        let inReplyTo = request.replyTo.flatMap { $0.isEmpty ? nil : $0.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) }
            ?? chat?.lastMessageId
        var references = chat?.references ?? []
        if let inReplyTo, !references.contains(inReplyTo) { references.append(inReplyTo) }
        let subject: String
        if let base = chat?.subject, !base.isEmpty {
            subject = inReplyTo == nil ? base : "Re: \(base)"
        } else {
            let firstLine = request.text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            subject = firstLine.count > 60 ? String(firstLine.prefix(57)) + "…" : firstLine
        }
        return OutgoingEmail(
            from: EmailAddress(name: saved.config.displayName, address: own), to: [recipient], subject: subject,
            text: request.text, messageId: messageId, date: Date(), inReplyTo: inReplyTo, references: inReplyTo == nil ? [] : references)
    }

    func dialogs(limit: Int, cursor: String?) -> DialogsPage {
        lock.withLock { mailbox.conversations.page(limit: limit, cursor: cursor) }
    }

    /// Sets \Seen on the chat's inbound messages in the mailbox (those of the current UIDVALIDITY).
    func markRead(chatId: String) async throws {
        let (chat, config) = lock.withLock { (mailbox.conversations[chatId], saved.config) }
        if let uids = chat?.unseenUids, !uids.isEmpty, let validity = chat?.uidValidity {
            do {
                try await worker.run {
                    let imap = try IMAPMailbox(server: config.imap)
                    defer { imap.close() }
                    if try imap.select(config.mailbox).uidValidity == validity { try imap.markSeen(uids) }
                }
            } catch let error as MailError {
                throw Self.channelError(error, imap: true)
            }
        }
        let snapshot = lock.withLock {
            mailbox.conversations.markRead(chatId)
            return mailbox
        }
        persistMailbox(accountId, snapshot)
    }

    /// The account's last known mailbox state (for logout to forget).
    var organizationId: String { lock.withLock { saved.organizationId } }

    // MARK: Helpers

    @discardableResult
    private func report(_ next: AccountStatus, error: String? = nil) -> AccountState {
        let (state, organizationId) = lock.withLock { () -> (AccountState, String) in
            status = next
            lastError = error
            return (AccountState(status: next, error: error, displayName: displayName(saved.config), email: saved.config.address),
                    saved.organizationId)
        }
        host.emit(.accountStatus(AccountStatusUpdate(
            accountId: accountId, status: next, error: error, displayName: state.displayName, email: state.email,
            organizationId: organizationId)))
        return state
    }

    static func looksLikeAddress(_ text: String) -> Bool {
        guard !text.contains(where: { $0.isWhitespace || "<>,;\"".contains($0) }) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
    }

    static func describe(_ error: MailError) -> String {
        switch error.kind {
        case .auth: return "AUTH_FAILED: \(error.message)"
        case .tls: return "TLS_FAILED: \(error.message)"
        case .network: return "UNREACHABLE: \(error.message)"
        case .rejected: return "REJECTED: \(error.message)"
        case .protocolError, .notFound: return "MAIL_ERROR: \(error.message)"
        }
    }

    static func channelError(_ error: MailError, imap: Bool = false) -> ChannelError {
        let side = imap ? "IMAP" : "SMTP"
        switch error.kind {
        case .rejected: return ChannelError(code: "RECIPIENT_REJECTED", message: error.message)
        case .auth: return ChannelError(code: "\(side)_AUTH_FAILED", message: error.message)
        case .tls: return ChannelError(code: "TLS_FAILED", message: error.message)
        case .network: return ChannelError(code: "\(side)_UNAVAILABLE", message: error.message)
        case .protocolError, .notFound: return ChannelError(code: "\(side)_ERROR", message: error.message)
        }
    }
}
