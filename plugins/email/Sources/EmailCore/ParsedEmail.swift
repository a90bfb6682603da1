import Foundation

public struct EmailAddress: Codable, Sendable, Hashable {
    public var name: String?
    public var address: String

    public init(name: String? = nil, address: String) {
        self.name = name
        self.address = address
    }

    /// Lower-cased, for comparing addresses (the local part is case-sensitive in theory only).
    public var normalized: String { address.lowercased() }
}

public struct EmailAttachment: Codable, Sendable, Hashable {
    public var filename: String?
    public var mimeType: String
    public var size: Int
    public var contentId: String?

    public init(filename: String?, mimeType: String, size: Int, contentId: String? = nil) {
        self.filename = filename
        self.mimeType = mimeType
        self.size = size
        self.contentId = contentId
    }
}

/// A received message as the gateway needs it: decoded headers, the text (and HTML) content,
/// attachments as metadata, and every problem met while decoding it (`warnings`).
public struct ParsedEmail: Sendable, Hashable {
    /// Message-ID without angle brackets.
    public var messageId: String?
    public var inReplyTo: [String] = []
    /// Oldest first, as the header lists them.
    public var references: [String] = []
    public var subject: String?
    public var from: [EmailAddress] = []
    public var to: [EmailAddress] = []
    public var cc: [EmailAddress] = []
    public var replyTo: [EmailAddress] = []
    public var date: Date?
    /// The text/plain content (or, without one, the HTML part's text).
    public var text: String = ""
    public var html: String?
    public var attachments: [EmailAttachment] = []
    public var warnings: [String] = []

    public init() {}

    /// The first message of the thread this one belongs to, as its headers tell.
    public var threadRoot: String? { references.first ?? inReplyTo.first }
}
