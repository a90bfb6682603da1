import CSQLite
import Foundation
import GatewayModel

/// The embedded store: one SQLite file in WAL mode, one writer connection on its own serial
/// queue (batched transactions), and a separate connection for plugin state and reads.
public final class SQLiteStore: GatewayStore, PluginStateStore, @unchecked Sendable {
    public let path: String
    private let writer: SQLiteConnection
    private let writerQueue = DispatchQueue(label: "gateway.sqlite.writer")
    private let reader: SQLiteConnection
    private let readerLock = NSLock()
    private let encoder = JSONEncoder()
    /// Contacts as last written (writer queue only): unchanged contacts are not rewritten.
    private var knownContacts: [ContactKey: Contact] = [:]
    private static let knownContactsLimit = 100_000
    private let decoder = JSONDecoder()

    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        writer = try SQLiteConnection(path: path)
        try writer.execute(Self.connectionPragmas)
        reader = try SQLiteConnection(path: path)
        try reader.execute("PRAGMA cache_size=-65536")
    }

    /// WAL: readers never block the writer. synchronous=NORMAL: a committed transaction survives
    /// a crash of the process (kill -9); only an OS crash can lose the last ones. A 64 MiB page
    /// cache keeps the indexes' hot pages in memory as the tables grow.
    public static let connectionPragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"

    public func migrate() async throws {
        try onWriter { [self] in
            let version = try userVersion()
            for (index, migration) in SQLiteSchema.migrations.enumerated() where index >= version {
                try writer.transaction {
                    try writer.execute(migration)
                    try writer.execute("PRAGMA user_version = \(index + 1)")
                }
            }
        }
    }

    /// How many migrations the database has applied.
    public var schemaVersion: Int {
        get throws { try readerLock.withLock { try userVersion(on: reader) } }
    }

    private func userVersion(on connection: SQLiteConnection? = nil) throws -> Int {
        let statement = try (connection ?? writer).prepare("PRAGMA user_version")
        _ = try statement.step()
        let version = statement.int(0) ?? 0
        statement.reset()
        return version
    }

    public func write(_ batch: [StoreWrite]) async throws -> [StoreWriteResult] {
        try onWriter { [self] in try writer.transaction { try apply(batch) } }
    }

    /// Runs on the writer queue; blocking there keeps the cooperative pool free.
    private func onWriter<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try writerQueue.sync(execute: body)
    }

    public func account(id: String) async throws -> Account? {
        try readerLock.withLock {
            let statement = try reader.prepare("SELECT \(Self.accountColumns) FROM accounts WHERE id = ?")
            statement.bind(1, id)
            defer { statement.reset() }
            return try statement.step() ? Self.account(from: statement) : nil
        }
    }

    public func stats() async throws -> StoreStats {
        try readerLock.withLock {
            func count(_ table: String) throws -> Int {
                let statement = try reader.prepare("SELECT COUNT(*) FROM \(table)")
                defer { statement.reset() }
                return try statement.step() ? statement.int(0) ?? 0 : 0
            }
            return StoreStats(backend: "sqlite", messages: try count("messages"), chats: try count("chats"), accounts: try count("accounts"))
        }
    }

    public func close() async {
        writerQueue.sync { try? writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    // MARK: - Plugin state

    public func get(plugin: String, key: String) throws -> Data? {
        try readerLock.withLock {
            let statement = try reader.prepare("SELECT value FROM plugin_state WHERE plugin = ? AND key = ?")
            statement.bind(1, plugin)
            statement.bind(2, key)
            defer { statement.reset() }
            return try statement.step() ? statement.data(0) ?? Data() : nil
        }
    }

    public func put(plugin: String, key: String, value: Data) throws {
        try readerLock.withLock {
            let statement = try reader.prepare("""
                INSERT INTO plugin_state (plugin, key, value, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """)
            statement.bind(1, plugin)
            statement.bind(2, key)
            statement.bind(3, value)
            statement.bind(4, Date().timeIntervalSince1970)
            try statement.run()
        }
    }

    public func delete(plugin: String, key: String) throws {
        try readerLock.withLock {
            let statement = try reader.prepare("DELETE FROM plugin_state WHERE plugin = ? AND key = ?")
            statement.bind(1, plugin)
            statement.bind(2, key)
            try statement.run()
        }
    }

    // MARK: - Writes

    /// Chat changes accumulated over a batch so each chat is written once per transaction.
    private struct ChatDelta {
        var organizationId: String
        var channel: String
        var info: ChatInfo
        var unread = 0
        var lastMessageId: UUID?
        var lastActivity: Double = 0
    }

    private struct ChatKey: Hashable {
        var accountId: String
        var chatId: String
    }

    private struct ContactKey: Hashable {
        var organizationId: String
        var channel: String
        var id: String
    }

    private struct ContactSighting {
        var contact: Contact
        var seenAt: Double
    }

    private func apply(_ batch: [StoreWrite]) throws -> [StoreWriteResult] {
        var results: [StoreWriteResult] = []
        results.reserveCapacity(batch.count)
        var chats: [ChatKey: ChatDelta] = [:]
        var contacts: [ContactKey: ContactSighting] = [:]
        for write in batch {
            switch write {
            case .upsertAccount(let account):
                try upsert(account)
                results.append(.account(account))
            case .insertMessage(let message, let chat):
                guard try insert(message) else {
                    results.append(.duplicate)
                    continue
                }
                let key = ChatKey(accountId: message.accountId, chatId: message.chatId)
                var delta = chats[key] ?? ChatDelta(organizationId: message.organizationId, channel: message.channel, info: chat)
                if chat.title != nil { delta.info = chat }
                if message.direction == .inbound, !message.isRead { delta.unread += 1 }
                let activity = message.createdAt.timeIntervalSince1970
                if activity >= delta.lastActivity {
                    delta.lastActivity = activity
                    delta.lastMessageId = message.id
                }
                chats[key] = delta
                if let contact = message.contact {
                    let key = ContactKey(organizationId: message.organizationId, channel: message.channel, id: contact.id)
                    contacts[key] = ContactSighting(contact: contact, seenAt: message.createdAt.timeIntervalSince1970)
                }
                results.append(.inserted(message))
            case .updateStatus(let update):
                results.append(try updateStatus(update))
            }
        }
        for (key, delta) in chats { try upsertChat(key, delta) }
        for (key, sighting) in contacts where knownContacts[key] != sighting.contact {
            try upsertContact(key, sighting)
            if knownContacts.count >= Self.knownContactsLimit { knownContacts.removeAll(keepingCapacity: true) }
            knownContacts[key] = sighting.contact
        }
        return results
    }

    private func upsert(_ account: Account) throws {
        let statement = try writer.prepare("""
            INSERT INTO accounts (\(Self.accountColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                display_name = COALESCE(excluded.display_name, display_name),
                phone = COALESCE(excluded.phone, phone),
                email = COALESCE(excluded.email, email),
                status = excluded.status, error = excluded.error,
                last_activity = COALESCE(excluded.last_activity, last_activity)
            """)
        statement.bind([
            .text(account.id), .text(account.organizationId), .text(account.platform), Self.value(account.displayName),
            Self.value(account.phone), Self.value(account.email), .text(account.status.rawValue), Self.value(account.error),
            account.lastActivity.map { .double($0.timeIntervalSince1970) } ?? .null,
            .double(account.createdAt.timeIntervalSince1970),
        ])
        try statement.run()
    }

    /// True when the message was new.
    private func insert(_ message: Message) throws -> Bool {
        let statement = try writer.prepare("""
            INSERT INTO messages (id, organization_id, channel, account_id, chat_id, external_id, direction,
                contact_id, contact_name, contact_username, contact_phone, contact_email, text, attachments,
                status, is_read, error, metadata, created_at, sent_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (account_id, chat_id, external_id) DO NOTHING
            """)
        statement.bind(1, message.id.uuidString.lowercased())
        statement.bind(2, message.organizationId)
        statement.bind(3, message.channel)
        statement.bind(4, message.accountId)
        statement.bind(5, message.chatId)
        statement.bind(6, message.externalId)
        statement.bind(7, message.direction.rawValue)
        statement.bind(8, message.contact?.id)
        statement.bind(9, message.contact?.name)
        statement.bind(10, message.contact?.username)
        statement.bind(11, message.contact?.phone)
        statement.bind(12, message.contact?.email)
        statement.bind(13, message.content.text)
        statement.bind(14, try message.content.attachments.map { String(decoding: try encoder.encode($0), as: UTF8.self) })
        statement.bind(15, message.status.rawValue)
        statement.bind(16, message.isRead ? 1 : 0)
        statement.bind(17, message.error)
        statement.bind(18, try message.metadata.map { String(decoding: try encoder.encode($0), as: UTF8.self) })
        statement.bind(19, message.createdAt.timeIntervalSince1970)
        statement.bind(20, message.sentAt?.timeIntervalSince1970)
        try statement.run()
        return writer.changes == 1
    }

    private func upsertChat(_ key: ChatKey, _ delta: ChatDelta) throws {
        let statement = try writer.prepare("""
            INSERT INTO chats (account_id, chat_id, organization_id, channel, kind, title, unread_count,
                last_message_id, last_activity)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (account_id, chat_id) DO UPDATE SET
                title = COALESCE(excluded.title, title),
                unread_count = unread_count + excluded.unread_count,
                last_message_id = CASE WHEN excluded.last_activity >= COALESCE(last_activity, 0)
                    THEN excluded.last_message_id ELSE last_message_id END,
                last_activity = MAX(COALESCE(last_activity, 0), excluded.last_activity)
            """)
        statement.bind([
            .text(key.accountId), .text(key.chatId), .text(delta.organizationId), .text(delta.channel),
            .text(delta.info.kind.rawValue), Self.value(delta.info.title), .int(delta.unread),
            Self.value(delta.lastMessageId?.uuidString.lowercased()), .double(delta.lastActivity),
        ])
        try statement.run()
    }

    private func upsertContact(_ key: ContactKey, _ sighting: ContactSighting) throws {
        let contact = sighting.contact
        let statement = try writer.prepare("""
            INSERT INTO contacts (organization_id, channel, external_id, name, username, phone, email, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (organization_id, channel, external_id) DO UPDATE SET
                name = COALESCE(excluded.name, name), username = COALESCE(excluded.username, username),
                phone = COALESCE(excluded.phone, phone), email = COALESCE(excluded.email, email),
                updated_at = excluded.updated_at
            """)
        statement.bind([
            .text(key.organizationId), .text(key.channel), .text(key.id), Self.value(contact.name),
            Self.value(contact.username), Self.value(contact.phone), Self.value(contact.email), .double(sighting.seenAt),
        ])
        try statement.run()
    }

    private func updateStatus(_ update: MessageStatusUpdate) throws -> StoreWriteResult {
        let find = try writer.prepare("""
            SELECT id, status, organization_id, channel, direction, is_read FROM messages
            WHERE account_id = ? AND chat_id = ? AND external_id = ?
            """)
        find.bind([.text(update.accountId), .text(update.chatId), .text(update.externalId)])
        guard try find.step(), let idText = find.string(0), let id = UUID(uuidString: idText),
            let current = find.string(1).flatMap(MessageStatus.init(rawValue:)), let organizationId = find.string(2),
            let channel = find.string(3)
        else {
            find.reset()
            return .unchanged
        }
        let wasUnreadInbound = find.string(4) == Direction.inbound.rawValue && find.int(5) == 0
        find.reset()
        guard current.canAdvance(to: update.status) else { return .unchanged }
        let becomesRead = update.status == .read
        let statement = try writer.prepare("""
            UPDATE messages SET status = ?, error = COALESCE(?, error), is_read = MAX(is_read, ?) WHERE id = ?
            """)
        statement.bind([.text(update.status.rawValue), Self.value(update.error), .int(becomesRead ? 1 : 0), .text(idText)])
        try statement.run()
        if becomesRead, wasUnreadInbound {
            let chat = try writer.prepare("""
                UPDATE chats SET unread_count = MAX(unread_count - 1, 0) WHERE account_id = ? AND chat_id = ?
                """)
            chat.bind([.text(update.accountId), .text(update.chatId)])
            try chat.run()
        }
        let change = MessageStatusChange(
            messageId: id, channel: channel, accountId: update.accountId, chatId: update.chatId,
            externalId: update.externalId, status: update.status, error: update.error)
        return .statusChanged(change, organizationId: organizationId)
    }

    // MARK: - Row mapping

    static let accountColumns =
        "id, organization_id, platform, display_name, phone, email, status, error, last_activity, created_at"

    static func account(from row: SQLiteStatement) -> Account {
        Account(
            id: row.string(0) ?? "", organizationId: row.string(1) ?? "", platform: row.string(2) ?? "",
            displayName: row.string(3), phone: row.string(4), email: row.string(5),
            status: row.string(6).flatMap(AccountStatus.init(rawValue:)) ?? .error, error: row.string(7),
            lastActivity: row.double(8).map(Date.init(timeIntervalSince1970:)),
            createdAt: Date(timeIntervalSince1970: row.double(9) ?? 0))
    }

    static func value(_ text: String?) -> SQLiteValue {
        text.map(SQLiteValue.text) ?? .null
    }
}
