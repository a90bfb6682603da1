import Foundation

/// A message to send: what `MIMEBuilder` turns into RFC 5322 / MIME bytes.
public struct OutgoingEmail: Sendable, Hashable {
    public var from: EmailAddress
    public var to: [EmailAddress]
    public var cc: [EmailAddress] = []
    public var subject: String
    public var text: String
    /// Optional HTML alternative (multipart/alternative with the text first).
    public var html: String?
    /// Without angle brackets.
    public var messageId: String
    public var date: Date
    public var inReplyTo: String?
    /// Oldest first.
    public var references: [String] = []

    public init(from: EmailAddress, to: [EmailAddress], cc: [EmailAddress] = [], subject: String, text: String,
                html: String? = nil, messageId: String, date: Date, inReplyTo: String? = nil, references: [String] = []) {
        self.from = from
        self.to = to
        self.cc = cc
        self.subject = subject
        self.text = text
        self.html = html
        self.messageId = messageId
        self.date = date
        self.inReplyTo = inReplyTo
        self.references = references
    }

    /// Envelope recipients (To and Cc).
    public var recipients: [String] { (to + cc).map(\.address) }
}

/// Builds outgoing messages: UTF-8 text as quoted-printable (7bit when it is plain ASCII with
/// short lines), RFC 2047 encoded words for non-ASCII header text, CRLF line ends, lines folded
/// under 78 characters where the grammar allows.
public enum MIMEBuilder {
    public static func build(_ email: OutgoingEmail) -> Data {
        var headers: [String] = []
        headers.append("Date: \(rfc5322Date(email.date))")
        headers.append(fold("From: \(address(email.from))"))
        headers.append(fold("To: \(email.to.map(address).joined(separator: ", "))"))
        if !email.cc.isEmpty { headers.append(fold("Cc: \(email.cc.map(address).joined(separator: ", "))")) }
        headers.append("Message-ID: <\(email.messageId)>")
        if let inReplyTo = email.inReplyTo { headers.append("In-Reply-To: <\(inReplyTo)>") }
        if !email.references.isEmpty { headers.append(fold("References: " + email.references.map { "<\($0)>" }.joined(separator: " "))) }
        headers.append(encodedHeader("Subject", email.subject))
        headers.append("MIME-Version: 1.0")

        var body: [String] = []
        if let html = email.html {
            let boundary = "=_alt_" + String(email.messageId.utf8.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }, radix: 36)
            headers.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            body.append("This is a multi-part message in MIME format.")
            for (type, content) in [("text/plain", email.text), ("text/html", html)] {
                body.append("--\(boundary)")
                body += partHeaders(type: type, content: content)
                body.append("")
                body.append(encodeBody(content))
            }
            body.append("--\(boundary)--")
        } else {
            headers += partHeaders(type: "text/plain", content: email.text)
            body.append(encodeBody(email.text))
        }
        let message = headers.joined(separator: "\r\n") + "\r\n\r\n" + body.joined(separator: "\r\n") + "\r\n"
        return Data(message.utf8)
    }

    // MARK: Body

    private static func needsEncoding(_ text: String) -> Bool {
        !text.utf8.allSatisfy { $0 < 0x80 } || normalizedLines(text).contains { $0.utf8.count > 900 }
            || normalizedLines(text).contains { $0.hasSuffix(" ") || $0.hasSuffix("\t") }
    }

    private static func partHeaders(type: String, content: String) -> [String] {
        ["Content-Type: \(type); charset=utf-8",
         "Content-Transfer-Encoding: \(needsEncoding(content) ? "quoted-printable" : "7bit")"]
    }

    private static func encodeBody(_ text: String) -> String {
        let lines = normalizedLines(text)
        return needsEncoding(text) ? lines.map(quotedPrintableLine).joined(separator: "\r\n") : lines.joined(separator: "\r\n")
    }

    static func normalizedLines(_ text: String) -> [String] {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// One text line as quoted-printable (RFC 2045 §6.7), soft-broken under 76 characters.
    static func quotedPrintableLine(_ line: String) -> String {
        let bytes = Array(line.utf8)
        var out = ""
        var current = ""
        for (index, byte) in bytes.enumerated() {
            let isLast = index == bytes.count - 1
            let literal = (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !isLast)
            let token = literal ? String(UnicodeScalar(byte)) : String(format: "=%02X", byte)
            if current.utf8.count + token.utf8.count > 75 {
                out += current + "=\r\n"
                current = ""
            }
            current += token
        }
        return out + current
    }

    // MARK: Headers

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    static func address(_ address: EmailAddress) -> String {
        guard let name = address.name, !name.isEmpty else { return "<\(address.address)>" }
        if name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            let atext = name.allSatisfy { $0.isLetter || $0.isNumber || " !#$%&'*+-/=?^_`{|}~".contains($0) }
            let phrase = atext ? name : "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            return "\(phrase) <\(address.address)>"
        }
        return "\(encodedWords(name).joined(separator: " ")) <\(address.address)>"
    }

    /// `Name: value`, with RFC 2047 encoded words when the value is not plain printable ASCII.
    static func encodedHeader(_ name: String, _ value: String) -> String {
        let clean = value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && !clean.contains("=?") {
            return fold("\(name): \(clean)")
        }
        return "\(name): " + encodedWords(clean).joined(separator: "\r\n ")
    }

    /// `=?utf-8?B?…?=` words of at most 75 characters, never splitting a character.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        let maxBytes = 39  // 39 bytes → 52 base64 characters + 12 of framing = 64, room for "Subject: "
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > maxBytes, !chunk.isEmpty {
                words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words
    }

    /// Folds a header line at spaces so no line exceeds 78 characters where possible.
    static func fold(_ line: String) -> String {
        guard line.utf8.count > 78 else { return line }
        var lines: [String] = []
        var current = ""
        for word in line.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty, current.utf8.count + 1 + word.utf8.count > 78 {
                lines.append(current)
                current = String(word)
            } else {
                current += current.isEmpty ? String(word) : " " + word
            }
        }
        lines.append(current)
        return lines.joined(separator: "\r\n ")
    }
}
