import Foundation
import GatewayModel

/// One route of gateway.yaml: events matching `match` go to every action in `to`.
/// Routes are evaluated in order; the first match wins unless it says `continue: true`.
public struct Route: Sendable {
    public var name: String
    public var match: RouteMatch
    public var actions: [RouteAction]
    public var continueMatching: Bool

    public init(name: String, match: RouteMatch, actions: [RouteAction], continueMatching: Bool = false) {
        self.name = name
        self.match = match
        self.actions = actions
        self.continueMatching = continueMatching
    }
}

/// Conditions of a route; nil means "any". All given conditions must hold.
public struct RouteMatch: Sendable {
    public var channels: [String]?
    public var accounts: [String]?
    public var directions: [Direction]?
    public var chats: [String]?
    public var kinds: [ChatKind]?
    /// Event types; by default a route matches every event.
    public var events: [EventType]?
    /// A regular expression the message text must contain a match of.
    public var text: TextPattern?
    /// Metadata keys the message must carry.
    public var metadataKeys: [String]?

    public init(
        channels: [String]? = nil, accounts: [String]? = nil, directions: [Direction]? = nil, chats: [String]? = nil,
        kinds: [ChatKind]? = nil, events: [EventType]? = nil, text: TextPattern? = nil, metadataKeys: [String]? = nil
    ) {
        self.channels = channels
        self.accounts = accounts
        self.directions = directions
        self.chats = chats
        self.kinds = kinds
        self.events = events
        self.text = text
        self.metadataKeys = metadataKeys
    }
}

/// A compiled regular expression (NSRegularExpression is thread-safe for matching).
public struct TextPattern: @unchecked Sendable {
    public let source: String
    let regex: NSRegularExpression

    public init(_ source: String) throws {
        self.source = source
        regex = try NSRegularExpression(pattern: source)
    }

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

/// Where a matching event goes.
public enum RouteAction: Sendable, Equatable {
    /// Persist it (messages, statuses, accounts). Other actions of the route run after the commit,
    /// and only for events the store did not already have, so redelivery never fans out twice.
    case store
    /// Deliver it to the real-time hub's rooms.
    case hub
    /// POST it to a URL, signed with HMAC-SHA256 over `timestamp.body`.
    case webhook(url: String, secret: String?, retries: Int)
    /// Publish it on an event-bus topic for other consumers.
    case publish(topic: String)
    /// Do nothing with it (stop here).
    case drop
}
