import Foundation
import GatewayModel
import Testing

@testable import ChannelKit

/// ChannelKit writes events without JSONEncoder; the host decodes them with JSONDecoder.
@Suite struct EventWriterTests {
    @Test(arguments: [
        PluginEvent.message(ChannelMessage(
            accountId: "a\"1", chatId: "c\\9", externalId: "x\n\t\r\u{1}", direction: .outbound, chatKind: .group,
            chatTitle: "Группа 🚀", contact: Contact(id: "u1", name: "Ann", username: "ann", phone: "+1", email: "a@b.c"),
            text: "line1\nline2 \"quoted\" \u{7f} é", attachments: [Attachment(kind: "photo", name: "p.jpg", mimeType: "image/jpeg", size: 1234)],
            metadata: ["n": 1.5, "list": [true, nil, "s"], "nested": ["k": -3]], date: 1_732_520_000.25)),
        PluginEvent.message(ChannelMessage(accountId: "a", chatId: "c", externalId: "1", text: "")),
        PluginEvent.messageStatus(MessageStatusUpdate(accountId: "a", chatId: "c", externalId: "1", status: .read, error: nil)),
        PluginEvent.accountStatus(AccountStatusUpdate(accountId: "a", status: .awaitingCode, error: "e", displayName: "D", organizationId: "o")),
    ])
    func roundTripsThroughTheHostDecoder(event: PluginEvent) throws {
        let bytes = EventWriter.encode(event)
        let decoded = try JSONDecoder().decode(PluginEvent.self, from: Data(bytes))
        #expect(decoded == event)
        #expect(try JSONDecoder().decode(PluginEvent.self, from: JSONEncoder().encode(event)) == event)
    }

    @Test func malformedEventsAreRejectedWithTheField() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(PluginEvent.self, from: Data(#"{"type":"message","accountId":"a","chatId":"c"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(PluginEvent.self, from: Data(#"{"type":"teleport","accountId":"a"}"#.utf8))
        }
    }
}
