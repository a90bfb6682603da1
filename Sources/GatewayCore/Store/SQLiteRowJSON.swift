import Foundation
import GatewayModel

/// Listing rows written straight into the API's JSON, without making a `Message` or `Chat` first:
/// a page of 50 would otherwise build about a thousand Strings only to copy them out again.
/// The bytes are exactly what `JSONWriter.write(_: Message)` / `write(_: Chat)` produce for the
/// value `SQLiteStore.message(from:)` reads (SQLiteRowJSONTests compares them).
extension SQLiteStore {
    /// A row selected as in `chatsByRowid`: from `offset`, the chat's columns, then the last
    /// message's.
    static func writeChat(from row: SQLiteStatement, at offset: Int32, into writer: inout JSONWriter) {
        func text(_ column: Int32) -> UnsafeBufferPointer<UInt8>? { row.utf8(offset + column) }
        writer.object { w in
            w.field("organizationId", utf8: text(2) ?? empty)
            w.field("channel", utf8: text(3) ?? empty)
            w.field("bdAccountId", utf8: text(0) ?? empty)
            let chatId = text(1) ?? empty
            w.field("chatId", utf8: chatId)
            w.field("channelId", utf8: chatId)
            enumField("kind", text(4), known: chatKinds, fallback: ChatKind.user, into: &w)
            w.field("title", utf8: text(5))
            w.field("unreadCount", row.int(offset + 6) ?? 0)
            if text(9) != nil {
                w.key("lastMessage")
                writeMessage(from: row, at: offset + 8, into: &w)
            }
            w.field("lastActivity", row.double(offset + 7).map(Date.init(timeIntervalSince1970:)))
        }
    }

    /// Column numbers are those of `messageColumns`, from `offset`.
    static func writeMessage(from row: SQLiteStatement, at offset: Int32 = 0, into writer: inout JSONWriter) {
        func text(_ column: Int32) -> UnsafeBufferPointer<UInt8>? { row.utf8(offset + column) }
        writer.object { w in
            writeId(text(1), into: &w)
            w.field("organizationId", utf8: text(2) ?? empty)
            w.field("channel", utf8: text(3) ?? empty)
            w.field("bdAccountId", utf8: text(4) ?? empty)
            let chatId = text(5) ?? empty
            w.field("chatId", utf8: chatId)
            w.field("channelId", utf8: chatId)
            w.field("externalId", utf8: text(6))
            enumField("direction", text(7), known: directions, fallback: Direction.inbound, into: &w)
            if let contactId = text(8) {
                w.field("contactId", utf8: contactId)
                w.key("contact")
                w.object { c in
                    c.field("id", utf8: contactId)
                    c.field("name", utf8: text(9))
                    c.field("username", utf8: text(10))
                    c.field("phone", utf8: text(11))
                    c.field("email", utf8: text(12))
                }
            }
            w.field("content", utf8: text(13) ?? empty)
            w.key("attachments")
            if let attachments = row.data(offset + 14).flatMap({ try? JSONDecoder().decode([Attachment].self, from: $0) }),
                !attachments.isEmpty
            {
                w.array(attachments) { a, attachment in a.write(attachment) }
            } else {
                w.raw(emptyArray)
            }
            enumField("status", text(15), known: statuses, fallback: MessageStatus.pending, into: &w)
            w.field("isRead", row.int(offset + 16) == 1)
            w.field("error", utf8: text(17))
            if let metadata = row.data(offset + 18).flatMap({ try? JSONDecoder().decode(JSONValue.self, from: $0) }) {
                w.key("metadata")
                w.value(metadata)
            }
            w.field("idempotencyKey", utf8: text(21))
            w.field("createdAt", Date(timeIntervalSince1970: row.double(offset + 19) ?? 0))
            w.field("sentAt", row.double(offset + 20).map(Date.init(timeIntervalSince1970:)))
        }
    }

    /// Ids are stored in canonical lowercase form: copied as they are; anything else is parsed
    /// as `message(from:)` does.
    private static func writeId(_ text: UnsafeBufferPointer<UInt8>?, into writer: inout JSONWriter) {
        if let text, isCanonicalLowercaseUUID(text) {
            writer.field("id", utf8: text)
        } else {
            writer.field("id", text.flatMap { UUID(text: String(decoding: $0, as: UTF8.self)) } ?? UUID())
        }
    }

    private static func isCanonicalLowercaseUUID(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard text.count == 36 else { return false }
        for index in 0..<36 {
            let byte = text[index]
            switch index {
            case 8, 13, 18, 23: if byte != UInt8(ascii: "-") { return false }
            default: if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), !(UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) { return false }
            }
        }
        return true
    }

    /// An enum column: its text when it is one of the raw values (copied as is), else the
    /// fallback's — what `E(rawValue:) ?? fallback` gives, without making a String per row.
    private static func enumField<E: RawRepresentable<String>>(
        _ name: StaticString, _ text: UnsafeBufferPointer<UInt8>?, known: [[UInt8]], fallback: E, into writer: inout JSONWriter
    ) {
        if let text, known.contains(where: { $0.elementsEqual(text) }) {
            writer.field(name, utf8: text)
        } else {
            writer.field(name, fallback.rawValue)
        }
    }

    private static func rawValues<E: RawRepresentable<String> & CaseIterable>(_: E.Type) -> [[UInt8]] {
        E.allCases.map { Array($0.rawValue.utf8) }
    }

    private static let chatKinds = rawValues(ChatKind.self)
    private static let directions = rawValues(Direction.self)
    private static let statuses = rawValues(MessageStatus.self)
    private static var empty: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: nil, count: 0) }
    private static let emptyArray: [UInt8] = Array("[]".utf8)
}
