import Testing
@testable import EmailCore

@Suite struct ThreadingTests {
    @Test func threadsStayOneChat() {
        var index = ThreadIndex()
        // A new conversation from Ann: her address is the chat.
        let first = index.chat(messageId: "a1@x", inReplyTo: [], references: [], counterpart: "Ann@Example.com")
        #expect(first == "ann@example.com")
        index.record("a1@x", in: first)
        // Our reply and her answer to it stay there (In-Reply-To / References known).
        index.record("ours@y", in: first)
        #expect(index.chat(messageId: "a2@x", inReplyTo: ["ours@y"], references: ["a1@x", "ours@y"], counterpart: "ann@example.com") == first)
        // A reply in a thread we never saw: the root's id.
        #expect(index.chat(messageId: "b2@x", inReplyTo: ["b1@x"], references: ["b0@x", "b1@x"], counterpart: "bob@x") == "<b0@x>")
        #expect(index.chat(messageId: "c2@x", inReplyTo: ["c1@x"], references: [], counterpart: "cat@x") == "<c1@x>")
        // A known message keeps its chat whatever else is known later (re-fetch after a restart).
        index.record("b2@x", in: "<b0@x>")
        index.record("b0@x", in: "bob@x")
        #expect(index.chat(messageId: "b2@x", inReplyTo: ["b1@x"], references: ["b0@x"], counterpart: "bob@x") == "<b0@x>")
    }

    @Test func indexIsBounded() {
        var index = ThreadIndex(capacity: 3)
        for n in 0..<5 { index.record("m\(n)", in: "c") }
        #expect(index.chats.keys.sorted() == ["m2", "m3", "m4"])
    }

    @Test func transcriptReadsPerRecipientReplies() {
        let transcript = SMTPTranscript("""
            S: 220 mail ESMTP
            C: EHLO host
            S: 250-mail
            S: 250 AUTH PLAIN LOGIN
            C: AUTH …
            S: 235 2.7.0 Authentication successful
            C: MAIL FROM:<me@x>
            S: 250 OK
            C: RCPT TO:<ann@x>
            S: 250 OK
            C: RCPT TO:<nobody@x>
            S: 550 5.1.1 <nobody@x>: Recipient address rejected
            C: DATA
            S: 354 End data with <CR><LF>.<CR><LF>
            S: 250 OK queued
            """)
        #expect(transcript.recipients.map(\.address) == ["ann@x", "nobody@x"])
        #expect(transcript.rejected.map(\.reply) == ["550 5.1.1 <nobody@x>: Recipient address rejected"])
        #expect(transcript.dataReply == "250 OK queued")
    }

    @Test func backoffGrowsAndIsCapped() {
        let delays = (1...10).map { InboxWatcher.backoff(attempt: $0, maximum: .seconds(60)) }
        #expect(delays[0] >= .milliseconds(800) && delays[0] <= .milliseconds(1200))
        #expect(delays[9] <= .seconds(72))
        #expect(InboxWatcher.startUid([3, 5, 9], keep: 0) == 9)
        #expect(InboxWatcher.startUid([3, 5, 9], keep: 2) == 3)
        #expect(InboxWatcher.startUid([3, 5, 9], keep: 5) == 0)
    }
}
