import Foundation
import GatewayModel
import NIOCore
import PostgresNIO

/// A value bound to a statement of the PostgreSQL store.
enum PGValue: Sendable {
    case text(String?)
    case double(Double?)
    case int(Int?)
    case bool(Bool)
    case bytes(Data)

    /// One-dimensional arrays (with NULL elements), for `unnest(?::text[], …)` batch statements.
    case texts([String?])
    case doubles([Double?])
    case bools([Bool])

    static func date(_ date: Date?) -> PGValue { .double(date?.timeIntervalSince1970) }
    static func uuid(_ id: UUID?) -> PGValue { .text(id?.uuidString.lowercased()) }
}

/// PostgreSQL's text cannot hold U+0000, which SQLite stores (and the API accepts): every text
/// value is stored with U+0000 as U+FFFF "0" and U+FFFF as U+FFFF U+FFFF, and read back the other
/// way. The mapping is one-to-one, so equality, uniqueness and substring search still work (a
/// search for "0" also finds a text holding U+0000: the one visible difference, on text nobody
/// writes on purpose).
enum PGText {
    static let escape: Unicode.Scalar = "\u{FFFF}"

    static func encode(_ text: String) -> String {
        // Fast path: no NUL byte, and no 0xEF (the lead byte of U+FFFF in UTF-8).
        guard text.utf8.contains(where: { $0 == 0 || $0 == 0xEF }),
            text.unicodeScalars.contains(where: { $0 == "\u{0}" || $0 == escape })
        else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\u{0}": scalars.append(escape); scalars.append("0")
            case escape: scalars.append(escape); scalars.append(escape)
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    static func decode(_ text: String) -> String {
        guard text.utf8.contains(0xEF), text.unicodeScalars.contains(escape) else { return text }
        var scalars = String.UnicodeScalarView()
        var escaped = false
        for scalar in text.unicodeScalars {
            if escaped {
                scalars.append(scalar == "0" ? "\u{0}" : scalar)
                escaped = false
            } else if scalar == escape {
                escaped = true
            } else {
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }
}

/// SQL written with `?` placeholders (like the SQLite store's) and its values, in order; turned
/// into PostgreSQL's `$1, $2, …` when run.
struct PGStatement: Sendable {
    var sql: String
    var values: [PGValue]

    init(_ sql: String, _ values: [PGValue] = []) {
        self.sql = sql
        self.values = values
    }

    var query: PostgresQuery {
        var numbered = ""
        numbered.reserveCapacity(sql.utf8.count + values.count * 3)
        var index = 0
        var inLiteral = false
        for character in sql {
            if character == "'" { inLiteral.toggle() }
            if character == "?", !inLiteral {
                index += 1
                numbered += "$\(index)"
            } else {
                numbered.append(character)
            }
        }
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .text(let text): bindings.append(text.map(PGText.encode))
            case .double(let double): bindings.append(double)
            case .int(let int): bindings.append(int)
            case .bool(let bool): bindings.append(bool)
            case .bytes(let data): bindings.append(ByteBuffer(bytes: data))
            case .texts(let texts):
                bindings.append(PGArray(.textArray, element: .text, texts) { text, buffer in
                    buffer.writeString(PGText.encode(text))
                })
            case .doubles(let doubles):
                bindings.append(PGArray(.float8Array, element: .float8, doubles) { double, buffer in
                    buffer.writeInteger(double.bitPattern)
                })
            case .bools(let bools):
                bindings.append(PGArray(.boolArray, element: .bool, bools.map { $0 }) { bool, buffer in
                    buffer.writeInteger(bool ? 1 : 0, as: UInt8.self)
                })
            }
        }
        return PostgresQuery(unsafeSQL: numbered, binds: bindings)
    }
}

/// A one-dimensional array in PostgreSQL's binary format, NULL elements allowed (postgres-nio's
/// own array encoding has no optional elements).
struct PGArray: PostgresDynamicTypeEncodable {
    let psqlType: PostgresDataType
    let element: PostgresDataType
    let count: Int
    let hasNull: Bool
    let elements: ByteBuffer
    var psqlFormat: PostgresFormat { .binary }

    init<T>(_ type: PostgresDataType, element: PostgresDataType, _ values: [T?], write: (T, inout ByteBuffer) -> Void) {
        psqlType = type
        self.element = element
        count = values.count
        var buffer = ByteBuffer()
        var hasNull = false
        for value in values {
            guard let value else {
                buffer.writeInteger(-1, as: Int32.self)
                hasNull = true
                continue
            }
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(0, as: Int32.self)
            let start = buffer.writerIndex
            write(value, &buffer)
            buffer.setInteger(Int32(buffer.writerIndex - start), at: lengthIndex)
        }
        self.hasNull = hasNull
        elements = buffer
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeInteger(count == 0 ? 0 : 1, as: Int32.self)  // dimensions
        buffer.writeInteger(hasNull ? 1 : 0, as: Int32.self)
        buffer.writeInteger(element.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(1, as: Int32.self)  // lower bound
        buffer.writeImmutableBuffer(elements)
    }
}

extension PostgresConnection {
    /// Runs a statement and collects its rows.
    @discardableResult
    func rows(_ statement: PGStatement, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await query(statement.query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    func rows(_ sql: String, _ values: [PGValue] = [], logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await rows(PGStatement(sql, values), logger: logger)
    }
}

/// Rows of the PostgreSQL store as model values (same columns as the SQLite store's).
extension PostgresRandomAccessRow {
    func string(_ index: Int) -> String? { (try? self[index].decode(String?.self) ?? nil).map(PGText.decode) }
    func double(_ index: Int) -> Double? { try? self[index].decode(Double?.self) ?? nil }
    func int(_ index: Int) -> Int? { try? self[index].decode(Int?.self) ?? nil }
    func bool(_ index: Int) -> Bool? { try? self[index].decode(Bool?.self) ?? nil }
    func data(_ index: Int) -> Data? {
        (try? self[index].decode(ByteBuffer?.self) ?? nil).map { Data($0.readableBytesView) }
    }
}

extension PostgresStore {
    static let accountColumns = SQLiteStore.accountColumns
    static let messageColumns = SQLiteStore.messageColumns

    static func account(from row: PostgresRandomAccessRow) -> Account {
        Account(
            id: row.string(0) ?? "", organizationId: row.string(1) ?? "", platform: row.string(2) ?? "",
            displayName: row.string(3), phone: row.string(4), email: row.string(5),
            status: row.string(6).flatMap(AccountStatus.init(rawValue:)) ?? .error, error: row.string(7),
            lastActivity: row.double(8).map(Date.init(timeIntervalSince1970:)),
            createdAt: Date(timeIntervalSince1970: row.double(9) ?? 0))
    }

    /// A message from a row selected with `messageColumns` starting at `offset`.
    static func message(from row: PostgresRandomAccessRow, at offset: Int = 0) -> Message {
        func text(_ column: Int) -> String? { row.string(offset + column) }
        let contact = text(8).map {
            Contact(id: $0, name: text(9), username: text(10), phone: text(11), email: text(12))
        }
        let decoder = JSONDecoder()
        let attachments = text(14).flatMap { try? decoder.decode([Attachment].self, from: Data($0.utf8)) }
        let metadata = text(18).flatMap { try? decoder.decode(JSONValue.self, from: Data($0.utf8)) }
        return Message(
            id: text(1).flatMap(UUID.init(uuidString:)) ?? UUID(), organizationId: text(2) ?? "", channel: text(3) ?? "",
            accountId: text(4) ?? "", chatId: text(5) ?? "", externalId: text(6),
            direction: text(7).flatMap(Direction.init(rawValue:)) ?? .inbound, contact: contact,
            content: MessageContent(text: text(13) ?? "", attachments: attachments),
            status: text(15).flatMap(MessageStatus.init(rawValue:)) ?? .pending, isRead: row.bool(offset + 16) ?? false,
            error: text(17), metadata: metadata, idempotencyKey: text(21),
            createdAt: Date(timeIntervalSince1970: row.double(offset + 19) ?? 0),
            sentAt: row.double(offset + 20).map(Date.init(timeIntervalSince1970:)))
    }

    func storedMessage(id: UUID, on connection: PostgresConnection, lock: Bool = false) async throws -> Message? {
        try await connection.rows(
            "SELECT \(Self.messageColumns) FROM messages WHERE id = ?\(lock ? " FOR UPDATE" : "")", [.uuid(id)], logger: logger
        ).first.map { Self.message(from: $0) }
    }

    func storedMessage(idempotencyKey: String, organizationId: String, on connection: PostgresConnection) async throws -> Message? {
        try await connection.rows(
            "SELECT \(Self.messageColumns) FROM messages WHERE organization_id = ? AND idempotency_key = ?",
            [.text(organizationId), .text(idempotencyKey)], logger: logger
        ).first.map { Self.message(from: $0) }
    }
}
