import ChannelKit
import EmailCore
import Foundation

/// A fetched message → the gateway's normalized message (docs/EMAIL.md, "What a message looks
/// like"). Pure: the thread index and conversations are updated by the caller with the result.
enum InboundMapper {
    struct Mapped {
        var message: ChannelMessage
        /// The id recorded in the thread index (Message-ID, or the content hash without one).
        var messageId: String
        var references: [String]
        var replyAddress: EmailAddress?
        var subject: String?
        var inbound: Bool
    }

    static func map(_ fetched: FetchedMessage, uidValidity: UInt32, mailbox: String, accountId: String, ownAddress: String,
                    threads: ThreadIndex) -> Mapped {
        let email = MIMEParser.parse(fetched.raw)
        let messageId = email.messageId ?? "sha256:" + Digest.sha256Hex(fetched.raw).prefix(40)
        let sender = email.from.first ?? email.replyTo.first
        let outbound = sender?.normalized == ownAddress.lowercased()
        let counterpart = outbound ? (email.to.first ?? sender) : sender
        let chatId = threads.chat(messageId: messageId, inReplyTo: email.inReplyTo, references: email.references,
                                  counterpart: counterpart?.address ?? "unknown")
        var metadata: [String: JSONValue] = [
            "messageId": .string(messageId),
            "from": addresses(email.from), "to": addresses(email.to),
            "mailbox": .string(mailbox), "uid": .number(Double(fetched.uid)), "uidValidity": .number(Double(uidValidity)),
            "size": .number(Double(fetched.raw.count)),
        ]
        if let subject = email.subject { metadata["subject"] = .string(subject) }
        if !email.cc.isEmpty { metadata["cc"] = addresses(email.cc) }
        if !email.replyTo.isEmpty { metadata["replyTo"] = addresses(email.replyTo) }
        if !email.inReplyTo.isEmpty { metadata["inReplyTo"] = .array(email.inReplyTo.map(JSONValue.string)) }
        if !email.references.isEmpty { metadata["references"] = .array(email.references.map(JSONValue.string)) }
        if email.html != nil { metadata["hasHtml"] = .bool(true) }
        if !email.attachments.isEmpty {
            metadata["attachments"] = .array(email.attachments.map { attachment in
                var entry: [String: JSONValue] = ["mimeType": .string(attachment.mimeType), "size": .number(Double(attachment.size))]
                if let name = attachment.filename { entry["filename"] = .string(name) }
                if let id = attachment.contentId { entry["contentId"] = .string(id) }
                return .object(entry)
            })
        }
        var warnings = email.warnings
        if let omitted = fetched.omittedSize {
            metadata["size"] = .number(Double(omitted))
            metadata["truncated"] = .bool(true)
            warnings.insert("the message has \(omitted) bytes, more than max_message_bytes: only its header was fetched", at: 0)
        }
        if !warnings.isEmpty { metadata["parseWarnings"] = .array(warnings.map(JSONValue.string)) }
        let attachments = email.attachments.map {
            Attachment(kind: kind($0.mimeType), name: $0.filename, mimeType: $0.mimeType, size: $0.size)
        }
        let title = chatId.hasPrefix("<") ? (email.subject.map(Conversations.baseSubject) ?? counterpart?.address)
                                          : (counterpart?.name ?? counterpart?.address)
        let message = ChannelMessage(
            accountId: accountId, chatId: chatId, externalId: messageId, direction: outbound ? .outbound : .inbound,
            chatKind: .user, chatTitle: title,
            contact: sender.map { Contact(id: $0.address.lowercased(), name: $0.name, email: $0.address) },
            text: email.text, attachments: attachments.isEmpty ? nil : attachments, metadata: .object(metadata),
            date: (email.date ?? Date()).timeIntervalSince1970)
        let replyAddress = outbound ? counterpart : (email.replyTo.first ?? sender)
        return Mapped(message: message, messageId: messageId, references: email.references, replyAddress: replyAddress,
                      subject: email.subject, inbound: !outbound)
    }

    static func addresses(_ list: [EmailAddress]) -> JSONValue {
        .array(list.map { address in
            var entry: [String: JSONValue] = ["address": .string(address.address)]
            if let name = address.name { entry["name"] = .string(name) }
            return .object(entry)
        })
    }

    static func kind(_ mimeType: String) -> String {
        if mimeType.hasPrefix("image/") { return "photo" }
        if mimeType.hasPrefix("video/") { return "video" }
        if mimeType.hasPrefix("audio/") { return "audio" }
        return "document"
    }
}
