/// Reads an SMTP dialogue ("C: command" / "S: reply" lines, as the C layer records it) for what
/// the server answered each RCPT TO and the final reply to the message data.
public struct SMTPTranscript: Sendable, Equatable {
    public struct Recipient: Sendable, Equatable {
        public var address: String
        /// The full reply, e.g. "550 5.1.1 <x@example.org>: Recipient address rejected".
        public var reply: String
        public var accepted: Bool { reply.hasPrefix("2") }
    }

    public var recipients: [Recipient] = []
    /// The reply to the end of DATA (the message accepted or refused), when seen.
    public var dataReply: String?
    /// The last reply of the server (for errors before any recipient).
    public var lastReply: String?

    public init(_ text: String) {
        var pendingRecipient: String?
        var inData = false
        var replyLines: [String] = []
        func finish(_ reply: String) {
            lastReply = reply
            if let address = pendingRecipient {
                recipients.append(Recipient(address: address, reply: reply))
                pendingRecipient = nil
            } else if inData, !reply.hasPrefix("354") {
                dataReply = reply
                inData = false
            }
        }
        for line in text.split(separator: "\n") {
            if line.hasPrefix("C: ") {
                let command = line.dropFirst(3)
                if command.uppercased().hasPrefix("RCPT TO:") {
                    var address = command.dropFirst("RCPT TO:".count).trimmingCharacters(in: .whitespaces)
                    if address.hasPrefix("<"), let end = address.firstIndex(of: ">") {
                        address = String(address[address.index(after: address.startIndex)..<end])
                    }
                    pendingRecipient = address
                } else if command.uppercased() == "DATA" {
                    inData = true
                }
            } else if line.hasPrefix("S: ") {
                let reply = String(line.dropFirst(3))
                // Multi-line replies ("250-…") end with the line whose code is followed by a space.
                replyLines.append(reply)
                let chars = Array(reply)
                if chars.count < 4 || chars[3] != "-" {
                    finish(replyLines.count == 1 ? reply : replyLines.map { String($0.dropFirst(min(4, $0.count))) }
                        .joined(separator: " ").withCode(String(reply.prefix(3))))
                    replyLines = []
                }
            }
        }
    }

    public var rejected: [Recipient] { recipients.filter { !$0.accepted } }
}

extension String {
    fileprivate func withCode(_ code: String) -> String { "\(code) \(self)" }
}
