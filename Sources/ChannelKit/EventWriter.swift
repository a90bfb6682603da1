import GatewayModel

/// Writes plugin events as JSON bytes directly (no Encoder machinery): `emit` is the hottest
/// path of every channel, and the output is the exact wire form of docs/PLUGIN_ABI.md.
struct EventWriter {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(256)
    }

    static func encode(_ event: PluginEvent) -> [UInt8] {
        var writer = EventWriter()
        writer.write(event)
        return writer.bytes
    }

    mutating func write(_ event: PluginEvent) {
        switch event {
        case .message(let message):
            object { w in
                w.field("type", "message")
                w.field("accountId", message.accountId)
                w.field("chatId", message.chatId)
                w.field("externalId", message.externalId)
                w.field("direction", message.direction.rawValue)
                w.field("chatKind", message.chatKind?.rawValue)
                w.field("chatTitle", message.chatTitle)
                if let contact = message.contact {
                    w.key("contact")
                    w.object { c in
                        c.field("id", contact.id)
                        c.field("name", contact.name)
                        c.field("username", contact.username)
                        c.field("phone", contact.phone)
                        c.field("email", contact.email)
                    }
                }
                w.field("text", message.text)
                if let attachments = message.attachments {
                    w.key("attachments")
                    w.array(attachments) { a, attachment in
                        a.object { o in
                            o.field("kind", attachment.kind)
                            o.field("name", attachment.name)
                            o.field("mimeType", attachment.mimeType)
                            if let size = attachment.size { o.key("size"); o.number(Double(size)) }
                        }
                    }
                }
                if let metadata = message.metadata { w.key("metadata"); w.value(metadata) }
                if let date = message.date { w.key("date"); w.number(date) }
            }
        case .messageStatus(let update):
            object { w in
                w.field("type", "message_status")
                w.field("accountId", update.accountId)
                w.field("chatId", update.chatId)
                w.field("externalId", update.externalId)
                w.field("status", update.status.rawValue)
                w.field("error", update.error)
            }
        case .accountStatus(let update):
            object { w in
                w.field("type", "account_status")
                w.field("accountId", update.accountId)
                w.field("status", update.status.rawValue)
                w.field("error", update.error)
                w.field("displayName", update.displayName)
                w.field("phone", update.phone)
                w.field("email", update.email)
                w.field("organizationId", update.organizationId)
            }
        }
    }

    private var needsComma = false

    mutating func object(_ body: (inout EventWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func array<T>(_ items: [T], _ element: (inout EventWriter, T) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            needsComma = false
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    mutating func key(_ name: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A string field; nil values are left out.
    mutating func field(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
        needsComma = true
    }

    mutating func number(_ value: Double) {
        if value.isFinite {
            if value == value.rounded(), abs(value) < 1e15 {
                bytes.append(contentsOf: String(Int64(value)).utf8)
            } else {
                bytes.append(contentsOf: String(value).utf8)
            }
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        needsComma = true
    }

    mutating func value(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let amount): number(amount)
        case .string(let text): string(text)
        case .array(let items): array(items) { w, item in w.value(item) }
        case .object(let members):
            object { w in
                for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                    w.key(name)
                    w.value(member)
                }
            }
        }
        needsComma = true
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control characters escaped.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }
}
