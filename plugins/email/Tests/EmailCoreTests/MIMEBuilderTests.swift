import Foundation
import Testing
@testable import EmailCore

@Suite struct MIMEBuilderTests {
    let date = Date(timeIntervalSince1970: 1_796_373_000)

    @Test func plainAsciiReply() {
        let email = OutgoingEmail(
            from: EmailAddress(name: "Support Team", address: "support@example.org"),
            to: [EmailAddress(address: "ann@example.com")], subject: "Re: hello", text: "Hi Ann,\nthanks.",
            messageId: "k1@example.org", date: date, inReplyTo: "m2@example.com", references: ["m1@example.com", "m2@example.com"])
        let text = String(decoding: MIMEBuilder.build(email), as: UTF8.self)
        #expect(text == """
            Date: Fri, 04 Dec 2026 08:30:00 +0000\r
            From: Support Team <support@example.org>\r
            To: <ann@example.com>\r
            Message-ID: <k1@example.org>\r
            In-Reply-To: <m2@example.com>\r
            References: <m1@example.com> <m2@example.com>\r
            Subject: Re: hello\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: 7bit\r
            \r
            Hi Ann,\r
            thanks.\r

            """)
    }

    @Test func unicodeRoundTripsThroughTheParser() {
        let body = "Grüße — ünïcødé ✓ " + String(repeating: "long line ", count: 30) + "\n.leading dot\nend = sign "
        let email = OutgoingEmail(
            from: EmailAddress(name: "Jürgen", address: "j@example.org"), to: [EmailAddress(name: "Zoë \"Z\"", address: "z@example.com")],
            subject: "Привет," + String(repeating: " мир", count: 20), text: body, html: "<p>Grüße</p>",
            messageId: "x@example.org", date: date)
        let data = MIMEBuilder.build(email)
        let raw = String(decoding: data, as: UTF8.self)
        #expect(raw.utf8.allSatisfy { $0 < 0x80 })
        #expect(raw.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        let parsed = MIMEParser.parse(data)
        #expect(parsed.subject == email.subject)
        #expect(parsed.from.first?.name == "Jürgen")
        #expect(parsed.to.first?.name == "Zoë \"Z\"")
        #expect(parsed.text == body)
        #expect(parsed.html == "<p>Grüße</p>")
        #expect(parsed.messageId == "x@example.org")
        #expect(parsed.warnings.isEmpty, "\(parsed.warnings)")
    }
}
