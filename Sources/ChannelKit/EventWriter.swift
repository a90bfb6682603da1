import GatewayModel

/// Writes plugin events as JSON bytes directly (no Encoder machinery): `emit` is the hottest
/// path of every channel, and the output is the exact wire form of docs/PLUGIN_ABI.md.
enum EventWriter {
    static func encode(_ event: PluginEvent) -> [UInt8] {
        var writer = JSONWriter()
        write(event, to: &writer)
        return writer.bytes
    }

    static func write(_ event: PluginEvent, to writer: inout JSONWriter) {
        switch event {
        case .message(let message):
            writer.object { w in
                w.field("type", "message")
                w.field("accountId", message.accountId)
                w.field("chatId", message.chatId)
                w.field("externalId", message.externalId)
                w.field("direction", message.direction.rawValue)
                w.field("chatKind", message.chatKind?.rawValue)
                w.field("chatTitle", message.chatTitle)
                if let contact = message.contact {
                    w.key("contact")
                    w.write(contact)
                }
                w.field("text", message.text)
                if let attachments = message.attachments {
                    w.key("attachments")
                    w.array(attachments) { a, attachment in a.write(attachment) }
                }
                if let metadata = message.metadata { w.key("metadata"); w.value(metadata) }
                if let date = message.date { w.key("date"); w.number(date) }
            }
        case .messageStatus(let update):
            writer.object { w in
                w.field("type", "message_status")
                w.field("accountId", update.accountId)
                w.field("chatId", update.chatId)
                w.field("externalId", update.externalId)
                w.field("status", update.status.rawValue)
                w.field("error", update.error)
            }
        case .accountStatus(let update):
            writer.object { w in
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
}
