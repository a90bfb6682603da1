import CEmail
import Foundation

/// Raw RFC 5322 bytes → `ParsedEmail`, through libetpan's MIME parser. Never throws and never
/// gives up: broken structure, bad transfer encodings, unknown charsets and oversized content
/// become `warnings`, with whatever could be decoded kept.
public enum MIMEParser {
    /// Text longer than this (UTF-8 bytes) is cut, with a warning: a gateway message is not an archive.
    public static let maxTextBytes = 1 << 20

    public static func parse(_ raw: Data) -> ParsedEmail {
        var email = ParsedEmail()
        let parsed: UnsafeMutablePointer<cemail_message>? = raw.withUnsafeBytes { bytes in
            let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
            return cemail_mime_parse(base, bytes.count)
        }
        guard let parsed else {
            email.warnings.append("out of memory parsing the message")
            email.text = clipped(String(decoding: raw.prefix(maxTextBytes), as: UTF8.self), &email.warnings)
            return email
        }
        defer { cemail_mime_free(parsed) }
        let message = parsed.pointee

        email.messageId = string(message.message_id).flatMap(nonEmpty)
        email.inReplyTo = ids(message.in_reply_to)
        email.references = ids(message.references)
        email.subject = string(message.subject).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        email.from = addresses(message.from, message.from_count)
        email.to = addresses(message.to, message.to_count)
        email.cc = addresses(message.cc, message.cc_count)
        email.replyTo = addresses(message.reply_to, message.reply_to_count)
        if message.has_date != 0 { email.date = Date(timeIntervalSince1970: TimeInterval(message.date)) }
        if let warnings = string(message.warnings) {
            email.warnings += warnings.split(separator: "\n").map(String.init)
        }

        var plain: String?
        var html: String?
        for index in 0..<message.part_count {
            let part = message.parts[index]
            let type = string(part.type) ?? "application/octet-stream"
            let data = part.data.map { Data(bytes: $0, count: part.length) } ?? Data()
            let isBody = part.is_attachment == 0 && (type == "text/plain" || type == "text/html")
            if isBody && ((type == "text/plain" && plain == nil) || (type == "text/html" && html == nil)) {
                let decoded = decodeText(data, charset: string(part.charset), part: index + 1, warnings: &email.warnings)
                if type == "text/plain" { plain = decoded } else { html = decoded }
            } else {
                // Attachments, inline images, and any further text part (text/calendar, a second text/plain, …).
                email.attachments.append(EmailAttachment(
                    filename: string(part.filename), mimeType: type, size: part.length, contentId: string(part.content_id)))
            }
        }
        if plain == nil, html == nil, message.structure_ok == 0 || !email.warnings.isEmpty {
            // Nothing parsed as a part: keep the raw body as text, so nothing is silently lost.
            let body = message.raw_body.map { Data(bytes: $0, count: message.raw_body_length) } ?? Data()
            plain = decodeText(body, charset: nil, part: 0, warnings: &email.warnings)
        }
        email.html = html.map { clipped($0, &email.warnings) }
        email.text = clipped(normalizedLines(plain ?? html.map(HTMLText.plainText) ?? ""), &email.warnings)
        return email
    }

    /// Bytes of a text part in `charset` → String. Unknown charsets and invalid bytes are warnings.
    static func decodeText(_ data: Data, charset: String?, part: Int, warnings: inout [String]) -> String {
        let label = part == 0 ? "body" : "part \(part)"
        let name = charset?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        if name.isEmpty || name == "utf-8" || name == "utf8" || name == "us-ascii" || name == "ascii" {
            if let text = String(validating: data, as: UTF8.self) { return text }
            if name.isEmpty || name.contains("ascii") {
                // Undeclared 8-bit text: most often Latin-1/Windows-1252.
                warnings.append("\(label): 8-bit text without a declared charset, read as ISO-8859-1")
                return String(data.map { Character(Unicode.Scalar($0)) })
            }
            warnings.append("\(label): invalid UTF-8, undecodable bytes replaced")
            return String(decoding: data, as: UTF8.self)
        }
        var out: UnsafeMutablePointer<CChar>?
        var length = 0
        var bytes = [UInt8](data)
        bytes.append(0)
        let result = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { cemail_to_utf8(name, $0.baseAddress, data.count, &out, &length) }
        }
        defer { free(out) }
        if result == 0, let out {
            let converted = Data(bytes: out, count: length)
            if let text = String(validating: converted, as: UTF8.self) { return text }
            return String(decoding: converted, as: UTF8.self)
        }
        warnings.append(result == 1
            ? "\(label): unknown charset \"\(charset ?? "")\", decoded as UTF-8 with replacements"
            : "\(label): text could not be converted from \"\(charset ?? "")\", decoded as UTF-8 with replacements")
        return String(decoding: data, as: UTF8.self)
    }

    /// Line ends as "\n", without the trailing line break(s) every mail body ends with.
    static func normalizedLines(_ text: String) -> String {
        var text = text.replacingOccurrences(of: "\r\n", with: "\n")
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    static func clipped(_ text: String, _ warnings: inout [String]) -> String {
        guard text.utf8.count > maxTextBytes else { return text }
        warnings.append("text longer than \(maxTextBytes) bytes: cut")
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: maxTextBytes)
        while end > text.startIndex, !text.unicodeScalars.indices.contains(end) { end = text.utf8.index(before: end) }
        return String(text[..<end])
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }

    private static func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }

    private static func ids(_ pointer: UnsafeMutablePointer<CChar>?) -> [String] {
        string(pointer).map { $0.split(separator: " ").map(String.init).filter { !$0.isEmpty } } ?? []
    }

    private static func addresses(_ list: UnsafeMutablePointer<cemail_address>?, _ count: Int) -> [EmailAddress] {
        guard let list else { return [] }
        return (0..<count).compactMap { index in
            guard let address = string(list[index].address), !address.isEmpty else { return nil }
            let name = string(list[index].name)?.trimmingCharacters(in: .whitespaces)
            return EmailAddress(name: name?.isEmpty == false ? name : nil, address: address)
        }
    }
}

/// HTML → readable text, for messages that have no text/plain part. Crude on purpose: tags out,
/// block ends as line breaks, the common entities decoded.
public enum HTMLText {
    public static func plainText(_ html: String) -> String {
        var text = html.replacingOccurrences(of: "(?is)<(script|style)[^>]*>.*?</\\1>", with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: "(?i)<br\\s*/?>|</p>|</div>|</li>|</tr>|</h[1-6]>", with: "\n", options: .regularExpression)
        text = text.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
        for (entity, value) in [("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] {
            text = text.replacingOccurrences(of: entity, with: value)
        }
        return text.replacingOccurrences(of: "\n{3,}", with: "\n\n", options: .regularExpression)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
