import CEmail
import Foundation

/// Sends messages through an SMTP submission server with libcurl (blocking: call it from a
/// thread of your own, see `BlockingThread`).
public struct SMTPSender: Sendable {
    public var server: MailServer
    /// The domain said in EHLO (default: curl's).
    public var heloDomain: String?

    public init(server: MailServer, heloDomain: String? = nil) {
        self.server = server
        self.heloDomain = heloDomain
    }

    public struct Outcome: Sendable, Equatable {
        public var transcript: SMTPTranscript
        /// Recipients the server refused while it accepted the message for others.
        public var rejected: [SMTPTranscript.Recipient] { transcript.rejected }
    }

    /// Connects, secures and authenticates, then quits: proves the settings and credentials.
    public func verify() throws(MailError) {
        _ = try perform(from: "", recipients: [], data: Data(), connectOnly: true)
    }

    /// Sends `data` to `recipients`. Throws `.rejected` with the server's replies when no
    /// recipient was accepted or the message was refused; `.auth`, `.tls`, `.network` otherwise.
    public func send(from: String, recipients: [String], data: Data) throws(MailError) -> Outcome {
        try perform(from: from, recipients: recipients, data: data, connectOnly: false)
    }

    private func perform(from: String, recipients: [String], data: Data, connectOnly: Bool) throws(MailError) -> Outcome {
        var error = [CChar](repeating: 0, count: 512)
        var transcriptPointer: UnsafeMutablePointer<CChar>?
        let cRecipients = recipients.map { strdup($0) }
        defer { cRecipients.forEach { free($0) } }
        let code: Int32 = server.withCServer { cServer in
            withOptionalCString(server.auth?.uppercased()) { auth in
                withOptionalCString(heloDomain) { helo in
                    from.withCString { from in
                        cRecipients.map { UnsafePointer($0) }.withUnsafeBufferPointer { list in
                            data.withUnsafeBytes { bytes in
                                var request = cemail_smtp_request(
                                    server: cServer, auth_mechanism: auth, helo_domain: helo, from: from,
                                    recipients: list.baseAddress, recipient_count: list.count,
                                    data: bytes.baseAddress?.assumingMemoryBound(to: CChar.self), length: bytes.count,
                                    connect_only: connectOnly ? 1 : 0)
                                return cemail_smtp_send(&request, &transcriptPointer, &error, error.count)
                            }
                        }
                    }
                }
            }
        }
        let transcriptText = transcriptPointer.map { String(cString: $0) } ?? ""
        free(transcriptPointer)
        let transcript = SMTPTranscript(transcriptText)
        let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard code == 0 else {
            throw Self.classify(code: code, message: message, transcript: transcript, server: server)
        }
        if !connectOnly, let dataReply = transcript.dataReply, !dataReply.hasPrefix("2") {
            throw MailError(.rejected, dataReply)
        }
        return Outcome(transcript: transcript)
    }

    /// curl's codes (curl.h) as the kinds the account reports.
    static func classify(code: Int32, message: String, transcript: SMTPTranscript, server: MailServer) -> MailError {
        let reply = transcript.lastReply.map { " (server: \($0))" } ?? ""
        switch code {
        case 67:  // CURLE_LOGIN_DENIED
            return MailError(.auth, "SMTP login rejected\(reply)")
        case 35, 58, 59, 60, 64, 66, 77, 80, 83, 90, 91:  // TLS handshake, certificates, CA file, STARTTLS refused
            return MailError(.tls, "SMTP TLS with \(server.host):\(server.port) failed: \(message)")
        case 6, 7, 28:  // resolve, connect, timeout
            return MailError(.network, "cannot reach SMTP server \(server.host):\(server.port): \(message)")
        default:
            if !transcript.recipients.isEmpty, transcript.recipients.allSatisfy({ !$0.accepted }) {
                return MailError(.rejected, transcript.rejected.map { "\($0.address): \($0.reply)" }.joined(separator: "; "))
            }
            if let data = transcript.dataReply, !data.hasPrefix("2") { return MailError(.rejected, data) }
            if let last = transcript.lastReply, last.hasPrefix("5") || last.hasPrefix("4") { return MailError(.rejected, last) }
            return MailError(.network, "SMTP with \(server.host):\(server.port) failed: \(message)\(reply)")
        }
    }
}
