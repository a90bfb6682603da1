import GatewayModel

/// The facts a route can match on, taken from an event before it is stored.
public struct RoutingFacts: Sendable {
    public var type: EventType
    public var channel: String
    public var accountId: String
    public var direction: Direction?
    public var chatId: String?
    public var kind: ChatKind?
    public var text: String?
    public var metadataKeys: [String]

    public init(
        type: EventType, channel: String, accountId: String, direction: Direction? = nil, chatId: String? = nil,
        kind: ChatKind? = nil, text: String? = nil, metadataKeys: [String] = []
    ) {
        self.type = type
        self.channel = channel
        self.accountId = accountId
        self.direction = direction
        self.chatId = chatId
        self.kind = kind
        self.text = text
        self.metadataKeys = metadataKeys
    }
}

/// Evaluates gateway.yaml routes. Pure: no I/O, safe to share.
public struct EventRouter: Sendable {
    public let routes: [Route]

    /// Without configured routes every event is stored and sent to the hub.
    public static let defaultRoutes = [Route(name: "default", match: RouteMatch(), actions: [.store, .hub])]

    public init(routes: [Route]) {
        self.routes = routes.isEmpty ? Self.defaultRoutes : routes
    }

    /// The actions for an event: those of the first matching route, plus those of following
    /// matches while a matched route says `continue: true`. `drop` ends evaluation.
    public func actions(for facts: RoutingFacts) -> [RouteAction] {
        var actions: [RouteAction] = []
        for route in routes where Self.matches(route.match, facts) {
            if route.actions.contains(.drop) { break }
            for action in route.actions where !actions.contains(action) { actions.append(action) }
            if !route.continueMatching { break }
        }
        return actions
    }

    static func matches(_ match: RouteMatch, _ facts: RoutingFacts) -> Bool {
        if let events = match.events, !events.contains(facts.type) { return false }
        if let channels = match.channels, !channels.contains(facts.channel) { return false }
        if let accounts = match.accounts, !accounts.contains(facts.accountId) { return false }
        if let directions = match.directions {
            guard let direction = facts.direction, directions.contains(direction) else { return false }
        }
        if let chats = match.chats {
            guard let chat = facts.chatId, chats.contains(chat) else { return false }
        }
        if let kinds = match.kinds {
            guard let kind = facts.kind, kinds.contains(kind) else { return false }
        }
        if let pattern = match.text {
            guard let text = facts.text, pattern.matches(text) else { return false }
        }
        if let keys = match.metadataKeys, !keys.allSatisfy(facts.metadataKeys.contains) { return false }
        return true
    }
}
