import Foundation
import GatewayModel
import Testing

/// JSONWriter's forms of the model are the same documents as the Codable forms.
@Suite struct ModelJSONTests {
    static let date = Date(timeIntervalSince1970: 1_732_520_000.125)  // a whole millisecond, exact in binary
    static let full = Message(
        organizationId: "o", channel: "telegram", accountId: "a\"1", chatId: "c\\9", externalId: "42", direction: .inbound,
        contact: Contact(id: "u", name: "Ann ✨", username: "ann", phone: "+1", email: "a@b.c"),
        content: MessageContent(text: "line\n\"quoted\"\u{1}", attachments: [Attachment(kind: "photo", name: "p.jpg", mimeType: "image/jpeg", size: 12)]),
        status: .delivered, isRead: false, error: "e", metadata: ["k": [1, 2.5, nil, true]], idempotencyKey: "key",
        createdAt: date, sentAt: date)
    static let bare = Message(
        organizationId: "o", channel: "loopback", accountId: "a", chatId: "c", externalId: nil, direction: .outbound,
        contact: nil, content: MessageContent(text: ""), status: .pending, isRead: true, createdAt: date, sentAt: nil)
    static let account = Account(id: "a", organizationId: "o", platform: "telegram", displayName: "D", phone: "+1", status: .connected, createdAt: date)

    private func same(_ written: [UInt8], _ encodable: some Encodable) throws {
        let fromWriter = try JSONDecoder().decode(JSONValue.self, from: Data(written))
        let fromCodable = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder.gateway().encode(encodable))
        #expect(fromWriter == fromCodable)
    }

    @Test(arguments: [full, bare])
    func messages(message: Message) throws {
        var writer = JSONWriter()
        writer.write(message)
        try same(writer.bytes, message)
        #expect(try JSONDecoder.gateway().decode(Message.self, from: Data(writer.bytes)) == message)
    }

    @Test func chatsAccountsAndEvents() throws {
        let chat = Chat(
            organizationId: "o", channel: "telegram", accountId: "a", chatId: "c", kind: .group, title: nil, unreadCount: 3,
            lastMessage: Self.full, lastActivity: Self.date)
        var writer = JSONWriter()
        writer.write(chat)
        try same(writer.bytes, chat)

        writer = JSONWriter()
        writer.write(Self.account)
        try same(writer.bytes, Self.account)

        let change = MessageStatusChange(
            messageId: UUID(), channel: "telegram", accountId: "a", chatId: "c", externalId: "1", status: .read, error: nil)
        for event in [
            GatewayEvent(type: .messageReceived, organizationId: "o", data: .message(Self.full), timestamp: Self.date),
            GatewayEvent(type: .messageStatus, organizationId: "o", data: .messageStatus(change), timestamp: Self.date),
            GatewayEvent(type: .accountConnected, organizationId: "o", data: .account(Self.account), timestamp: Self.date),
        ] {
            writer = JSONWriter()
            writer.write(event)
            try same(writer.bytes, event)
            #expect(try JSONDecoder.gateway().decode(GatewayEvent.self, from: Data(writer.bytes)) == event)
        }
    }
}
