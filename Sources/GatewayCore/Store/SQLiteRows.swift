import Foundation
import GatewayModel

/// Rows of the embedded store as model values.
extension SQLiteStore {

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

extension SQLiteStore {
    static let messageColumns = """
        seq, id, organization_id, channel, account_id, chat_id, external_id, direction, contact_id, contact_name,
        contact_username, contact_phone, contact_email, text, attachments, status, is_read, error, metadata,
        created_at, sent_at, idempotency_key
        """

    /// A message from a row selected with `messageColumns` starting at `offset`.
    static func message(from row: SQLiteStatement, at offset: Int32 = 0) -> Message {
        func text(_ column: Int32) -> String? { row.string(offset + column) }
        let contact = text(8).map {
            Contact(id: $0, name: text(9), username: text(10), phone: text(11), email: text(12))
        }
        // Most messages have neither: no decoder is made for them.
        let attachments = row.data(offset + 14).flatMap { try? JSONDecoder().decode([Attachment].self, from: $0) }
        let metadata = row.data(offset + 18).flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0) }
        return Message(
            id: text(1).flatMap(UUID.init(text:)) ?? UUID(), organizationId: text(2) ?? "", channel: text(3) ?? "",
            accountId: text(4) ?? "", chatId: text(5) ?? "", externalId: text(6),
            direction: text(7).flatMap(Direction.init(rawValue:)) ?? .inbound, contact: contact,
            content: MessageContent(text: text(13) ?? "", attachments: attachments),
            status: text(15).flatMap(MessageStatus.init(rawValue:)) ?? .pending, isRead: row.int(offset + 16) == 1,
            error: text(17), metadata: metadata, idempotencyKey: text(21),
            createdAt: Date(timeIntervalSince1970: row.double(offset + 19) ?? 0),
            sentAt: row.double(offset + 20).map(Date.init(timeIntervalSince1970:)))
    }

    func storedMessage(idText: String, on connection: SQLiteConnection) throws -> Message? {
        let statement = try connection.prepare("SELECT \(Self.messageColumns) FROM messages WHERE id = ?")
        statement.bind(1, idText)
        defer { statement.reset() }
        return try statement.step() ? Self.message(from: statement) : nil
    }

    func storedMessage(idempotencyKey: String, organizationId: String, on connection: SQLiteConnection) throws -> Message? {
        let statement = try connection.prepare(
            "SELECT \(Self.messageColumns) FROM messages WHERE organization_id = ? AND idempotency_key = ?")
        statement.bind([.text(organizationId), .text(idempotencyKey)])
        defer { statement.reset() }
        return try statement.step() ? Self.message(from: statement) : nil
    }
}
