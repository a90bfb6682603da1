import GatewayModel
import Yams

/// Reads the `routes:` list of gateway.yaml.
struct RouteParser {
    let reader: YAMLReader

    private static let actionWords = ["store", "hub", "drop", "webhook", "publish"]

    func routes(_ node: Node) -> [Route] {
        guard let items = reader.sequence(node, at: "routes") else { return [] }
        return items.enumerated().compactMap { route($1, index: $0) }
    }

    private func route(_ node: Node, index: Int) -> Route? {
        let path = "routes[\(index)]"
        guard let entries = reader.mapping(node, at: path, allowed: ["name", "match", "to", "continue"]) else { return nil }
        let name = reader.optionalString(entries["name"], at: "\(path).name") ?? "route \(index + 1)"
        var match = RouteMatch()
        if let matchNode = entries["match"] {
            guard let parsed = self.match(matchNode, at: "\(path).match") else { return nil }
            match = parsed
        }
        guard let toNode = entries["to"] else {
            reader.report(node, "\(path).to is required: one or a list of \(Self.actionWords.joined(separator: ", "))")
            return nil
        }
        let actionNodes: [Node]
        if case .sequence(let list) = toNode { actionNodes = Array(list) } else { actionNodes = [toNode] }
        if actionNodes.isEmpty {
            reader.report(toNode, "\(path).to must name at least one action")
            return nil
        }
        let actions = actionNodes.enumerated().compactMap { action($1, at: "\(path).to[\($0)]") }
        guard actions.count == actionNodes.count else { return nil }
        if actions.contains(.drop), actions.count > 1 {
            reader.report(toNode, "\(path).to: drop cannot be combined with other actions")
        }
        var continueMatching = false
        if let flag = entries["continue"], let value = reader.bool(flag, at: "\(path).continue") { continueMatching = value }
        return Route(name: name, match: match, actions: actions, continueMatching: continueMatching)
    }

    private func match(_ node: Node, at path: String) -> RouteMatch? {
        let keys = ["channel", "account", "direction", "chat", "kind", "event", "text", "metadata"]
        guard let entries = reader.mapping(node, at: path, allowed: keys) else { return nil }
        let before = reader.issues.count
        var match = RouteMatch()
        if let value = entries["channel"] { match.channels = reader.stringList(value, at: "\(path).channel") }
        if let value = entries["account"] { match.accounts = reader.stringList(value, at: "\(path).account") }
        if let value = entries["chat"] { match.chats = reader.stringList(value, at: "\(path).chat") }
        if let value = entries["metadata"] { match.metadataKeys = reader.stringList(value, at: "\(path).metadata") }
        if let value = entries["direction"] {
            match.directions = reader.enumList(
                value, at: "\(path).direction", Direction.init(rawValue:), choices: Direction.allCases.map(\.rawValue))
        }
        if let value = entries["kind"] {
            match.kinds = reader.enumList(
                value, at: "\(path).kind", ChatKind.init(rawValue:), choices: ChatKind.allCases.map(\.rawValue))
        }
        if let value = entries["event"] {
            match.events = reader.enumList(
                value, at: "\(path).event", EventType.init(rawValue:), choices: EventType.allCases.map(\.rawValue))
        }
        if let value = entries["text"], let source = reader.text(value, at: "\(path).text") {
            do {
                match.text = try TextPattern(source)
            } catch {
                reader.report(value, "\(path).text is not a valid regular expression: \"\(source)\"")
            }
        }
        return reader.issues.count == before ? match : nil
    }

    private func action(_ node: Node, at path: String) -> RouteAction? {
        if case .scalar = node {
            guard let word = reader.text(node, at: path) else { return nil }
            switch word {
            case "store": return .store
            case "hub": return .hub
            case "drop": return .drop
            case "webhook", "publish":
                reader.report(node, "\(path): \(word) needs settings, e.g. {\(word == "webhook" ? "webhook: {url: https://…}" : "publish: topic-name")}")
                return nil
            default:
                reader.report(node, "\(path): unknown action \"\(word)\" (expected one of: \(Self.actionWords.joined(separator: ", ")))")
                return nil
            }
        }
        guard let entries = reader.mapping(node, at: path, allowed: ["webhook", "publish"]), entries.count == 1 else {
            if case .mapping = node { reader.report(node, "\(path) must have exactly one of webhook, publish") }
            return nil
        }
        if let webhook = entries["webhook"] {
            guard let keys = reader.mapping(webhook, at: "\(path).webhook", allowed: ["url", "secret", "retries"]),
                let url = reader.string(keys["url"], at: "\(path).webhook.url", parent: webhook)
            else { return nil }
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                reader.report(keys["url"], "\(path).webhook.url must start with http:// or https://, got \"\(url)\"")
                return nil
            }
            var retries = 5
            if let node = keys["retries"], let value = reader.int(node, at: "\(path).webhook.retries", in: 0...20) { retries = value }
            return .webhook(url: url, secret: reader.optionalString(keys["secret"], at: "\(path).webhook.secret"), retries: retries)
        }
        if let publish = entries["publish"] {
            if case .mapping = publish {
                guard let keys = reader.mapping(publish, at: "\(path).publish", allowed: ["topic"]),
                    let topic = reader.string(keys["topic"], at: "\(path).publish.topic", parent: publish)
                else { return nil }
                return .publish(topic: topic)
            }
            guard let topic = reader.text(publish, at: "\(path).publish"), !topic.isEmpty else { return nil }
            return .publish(topic: topic)
        }
        return nil
    }
}
