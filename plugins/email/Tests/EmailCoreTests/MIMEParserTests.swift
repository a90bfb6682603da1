import Foundation
import Testing
@testable import EmailCore

private func parse(_ text: String) -> ParsedEmail {
    MIMEParser.parse(Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
}

@Suite struct MIMEParserTests {
    @Test func plainTextWithEncodedHeaders() {
        let email = parse("""
            From: =?utf-8?B?SsO8cmdlbiBNw7xsbGVy?= <jurgen@example.org>
            To: Ann <ann@example.com>, "Bob, B." <bob@example.com>
            Cc: team: cat@example.com, dan@example.com;
            Subject: =?iso-8859-1?Q?Gr=FC=DFe?= aus =?utf-8?Q?K=C3=B6ln?=
            Date: Fri, 04 Dec 2026 09:30:00 +0100
            Message-ID: <abc.123@example.org>
            In-Reply-To: <root@example.com>
            References: <root@example.com> <mid@example.com>
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: quoted-printable

            Hallo K=C3=B6ln,
            soft=
             break
            """)
        #expect(email.from == [EmailAddress(name: "Jürgen Müller", address: "jurgen@example.org")])
        #expect(email.to.map(\.address) == ["ann@example.com", "bob@example.com"])
        #expect(email.to[1].name == "Bob, B.")
        #expect(email.cc.map(\.address) == ["cat@example.com", "dan@example.com"])
        #expect(email.subject == "Grüße aus Köln")
        #expect(email.date == Date(timeIntervalSince1970: 1_796_373_000))
        #expect(email.messageId == "abc.123@example.org")
        #expect(email.inReplyTo == ["root@example.com"])
        #expect(email.references == ["root@example.com", "mid@example.com"])
        #expect(email.threadRoot == "root@example.com")
        #expect(email.text == "Hallo Köln,\nsoft break")
        #expect(email.warnings.isEmpty)
    }

    @Test func multipartAlternativeWithAttachment() {
        let email = parse("""
            From: ann@example.com
            Subject: report
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="outer"

            preamble
            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            Caf=E9
            --inner
            Content-Type: text/html; charset=utf-8

            <p>Caf&eacute;</p>
            --inner--
            --outer
            Content-Type: application/pdf; name="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="
            Content-Disposition: attachment; filename="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="
            Content-Transfer-Encoding: base64

            JVBERi0xLjQK
            --outer--
            """)
        #expect(email.text == "Café")
        #expect(email.html == "<p>Caf&eacute;</p>")
        #expect(email.attachments == [EmailAttachment(filename: "résumé.pdf", mimeType: "application/pdf", size: 9)])
        #expect(email.warnings.isEmpty, "\(email.warnings)")
    }

    @Test func htmlOnlyBecomesText() {
        let email = parse("""
            From: a@example.com
            Content-Type: text/html; charset=utf-8

            <html><body><p>Hello <b>there</b></p><p>second &amp; last</p></body></html>
            """)
        #expect(email.text == "Hello there\nsecond & last")
    }

    @Test func base64WithGarbageIsDecodedWithAWarning() {
        let email = parse("""
            From: a@example.com
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: base64

            aGVsbG8g!!d29ybGQ=
            """)
        #expect(email.text.hasPrefix("hello"))
        #expect(email.warnings.contains { $0.contains("base64") })
    }

    @Test func unknownCharsetKeepsTheTextWithAWarning() {
        let email = parse("""
            From: a@example.com
            Content-Type: text/plain; charset=x-no-such-charset

            plain words
            """)
        #expect(email.text == "plain words")
        #expect(email.warnings.contains { $0.contains("unknown charset") })
    }

    @Test func brokenBoundaryKeepsWhatCanBeRead() {
        let email = parse("""
            From: a@example.com
            Content-Type: multipart/mixed; boundary="declared"

            --other
            Content-Type: text/plain

            text behind a boundary that was never declared
            --other--
            """)
        #expect(email.text.contains("text behind a boundary"))
        #expect(!email.warnings.isEmpty)
    }

    @Test func missingClosingBoundaryIsAWarning() {
        let email = parse("""
            From: a@example.com
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain

            first part, then the message ends
            """)
        #expect(email.text.contains("first part"))
        #expect(email.warnings.contains { $0.contains("closing boundary") })
    }

    @Test func tenMegabyteLineIsCutNotFatal() {
        let line = String(repeating: "x", count: 10 << 20)
        let email = MIMEParser.parse(Data("From: a@example.com\r\nSubject: big\r\n\r\n\(line)\r\n".utf8))
        #expect(email.subject == "big")
        #expect(email.text.utf8.count == MIMEParser.maxTextBytes)
        #expect(email.warnings.contains { $0.contains("cut") })
    }

    @Test func undeclared8BitAndGarbage() {
        var bytes = Array("From: a@example.com\r\nSubject: \u{1}\r\n\r\n".utf8)
        bytes += [0x63, 0x61, 0x66, 0xE9, 0x0D, 0x0A, 0xFF, 0x00, 0xFE]
        let email = MIMEParser.parse(Data(bytes))
        #expect(email.text.hasPrefix("café"))
        #expect(!email.warnings.isEmpty)
    }

    @Test func noHeadersAtAllAndEmptyInput() {
        _ = MIMEParser.parse(Data())
        _ = MIMEParser.parse(Data("just some words without headers".utf8))
        _ = MIMEParser.parse(Data(repeating: 0xFF, count: 10_000))
        let deep = (0..<200).map { "Content-Type: multipart/mixed; boundary=\"b\($0)\"\r\n\r\n--b\($0)\r\n" }.joined()
        _ = MIMEParser.parse(Data(("From: a@example.com\r\n" + deep).utf8))
    }
}
