import Foundation

/// Which chat a message belongs to, so that a conversation stays one chat:
/// 1. a message already placed (re-fetched after a restart or a UIDVALIDITY change) keeps its chat;
/// 2. a message answering one the index knows (In-Reply-To / References) joins that one's chat;
/// 3. otherwise the thread root its headers name (`<root-id>`), else the counterpart's address.
/// Pure state: the plugin persists it with its mailbox progress. Bounded (oldest ids dropped).
public struct ThreadIndex: Codable, Sendable, Equatable {
    /// Message-ID → chat id.
    public private(set) var chats: [String: String] = [:]
    /// Insertion order, for dropping the oldest beyond `capacity`.
    private var order: [String] = []
    public var capacity: Int

    public init(capacity: Int = 20_000) {
        self.capacity = capacity
    }

    /// A thread chat id for a root Message-ID: angle brackets tell it from an address.
    public static func threadChat(_ messageId: String) -> String { "<\(messageId)>" }

    /// The chat for a message with these headers, without recording it.
    public func chat(messageId: String?, inReplyTo: [String], references: [String], counterpart: String) -> String {
        if let messageId, let known = chats[messageId] { return known }
        for id in inReplyTo + references.reversed() {
            if let known = chats[id] { return known }
        }
        if let root = references.first ?? inReplyTo.first { return Self.threadChat(root) }
        return counterpart.lowercased()
    }

    /// Records `messageId` in `chat` (the first placement wins).
    public mutating func record(_ messageId: String, in chat: String) {
        guard chats[messageId] == nil else { return }
        chats[messageId] = chat
        order.append(messageId)
        if order.count > capacity {
            let drop = order.count - capacity
            for id in order.prefix(drop) { chats[id] = nil }
            order.removeFirst(drop)
        }
    }
}
