import Foundation
import GatewayModel
import Yams

/// Walks a composed YAML tree, expanding `${ENV}` in scalars and collecting every problem with
/// its location instead of stopping at the first.
final class YAMLReader {
    let file: String
    let environment: [String: String]
    private(set) var issues: [ConfigIssue] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    func report(_ node: Node?, _ message: String) {
        let mark = node?.mark
        issues.append(ConfigIssue(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    func report(line: Int, column: Int, _ message: String) {
        issues.append(ConfigIssue(file: file, line: line, column: column, message: message))
    }

    /// The entries of a mapping; keys outside `allowed` are reported with what was expected.
    func mapping(_ node: Node, at path: String, allowed: [String]) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            report(node, "\(path) must be a mapping with keys \(allowed.joined(separator: ", ")), got \(kind(of: node))")
            return nil
        }
        var entries: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                report(keyNode, "keys in \(path) must be plain words")
                continue
            }
            if !allowed.contains(key.string) {
                report(keyNode, "unknown key \"\(key.string)\" in \(path) (expected one of: \(allowed.joined(separator: ", ")))")
            } else if entries[key.string] != nil {
                report(keyNode, "duplicate key \"\(key.string)\" in \(path)")
            } else {
                entries[key.string] = value
            }
        }
        return entries
    }

    func sequence(_ node: Node, at path: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            report(node, "\(path) must be a list, got \(kind(of: node))")
            return nil
        }
        return Array(sequence)
    }

    /// A scalar's text after `${ENV}` expansion; nil (and a reported problem) otherwise.
    func text(_ node: Node, at path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            report(node, "\(path) must be a single value, got \(kind(of: node))")
            return nil
        }
        do throws(EnvironmentSubstitution.Failure) {
            return try EnvironmentSubstitution.expand(scalar.string, environment: environment)
        } catch {
            switch error {
            case .unset(let name):
                report(node, "\(path): environment variable \(name) is not set and has no default (write ${\(name):-default})")
            case .unterminated:
                report(node, "\(path): \"${\" without a closing \"}\"")
            case .badName(let name):
                report(node, "\(path): \"\(name)\" is not an environment variable name")
            }
            return nil
        }
    }

    /// A string; an empty one (e.g. `${REDIS_URL:-}` with the variable unset) counts as absent.
    func optionalString(_ node: Node?, at path: String) -> String? {
        guard let node, let value = text(node, at: path), !value.isEmpty else { return nil }
        return value
    }

    func string(_ node: Node?, at path: String, parent: Node) -> String? {
        guard let node else {
            report(parent, "\(path) is required")
            return nil
        }
        guard let value = text(node, at: path) else { return nil }
        guard !value.isEmpty else {
            report(node, "\(path) must not be empty")
            return nil
        }
        return value
    }

    func int(_ node: Node, at path: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = text(node, at: path) else { return nil }
        guard let number = Int(value.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            report(node, "\(path) must be an integer from \(range.lowerBound) to \(range.upperBound), got \"\(value)\"")
            return nil
        }
        return number
    }

    func bool(_ node: Node, at path: String) -> Bool? {
        guard let value = text(node, at: path) else { return nil }
        switch value.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            report(node, "\(path) must be true or false, got \"\(value)\"")
            return nil
        }
    }

    /// A byte size: a number, optionally with kb/mb/gb.
    func byteSize(_ node: Node, at path: String) -> Int? {
        guard let value = text(node, at: path) else { return nil }
        let lower = value.lowercased().trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)]
        var number = lower
        var multiplier = 1
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            number = String(lower.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            multiplier = factor
            break
        }
        guard let count = Int(number), count > 0, count <= (1 << 40) / multiplier else {
            report(node, "\(path) must be a size like 1048576, 512kb or 1mb, got \"\(value)\"")
            return nil
        }
        return count * multiplier
    }

    /// One string, a comma-separated string, or a list of strings.
    func stringList(_ node: Node, at path: String) -> [String]? {
        if case .sequence(let items) = node {
            let values = items.enumerated().compactMap { text($1, at: "\(path)[\($0)]") }
            return values.count == items.count ? values : nil
        }
        guard let value = text(node, at: path) else { return nil }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// One of `choices`, or one or a list of them.
    func enumList<T>(_ node: Node, at path: String, _ parse: (String) -> T?, choices: [String]) -> [T]? {
        guard let words = stringList(node, at: path) else { return nil }
        var values: [T] = []
        for word in words {
            guard let value = parse(word) else {
                report(node, "\(path): \"\(word)\" is not one of \(choices.joined(separator: ", "))")
                return nil
            }
            values.append(value)
        }
        return values
    }

    /// Any YAML value as JSON (plugin configs), with `${ENV}` expanded in every scalar.
    func json(_ node: Node, at path: String) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            guard let value = text(node, at: path) else { return .null }
            guard scalar.style == .plain else { return .string(value) }
            if value == "null" || value == "~" || value.isEmpty { return .null }
            if value == "true" { return .bool(true) }
            if value == "false" { return .bool(false) }
            if let number = Double(value), value.first.map({ $0.isNumber || $0 == "-" }) == true { return .number(number) }
            return .string(value)
        case .sequence(let items):
            return .array(items.enumerated().map { json($1, at: "\(path)[\($0)]") })
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping {
                let name = key.scalar?.string ?? "?"
                object[name] = json(value, at: "\(path).\(name)")
            }
            return .object(object)
        case .alias:
            report(node, "\(path): aliases are not supported")
            return .null
        }
    }

    func kind(of node: Node) -> String {
        switch node {
        case .scalar(let scalar): "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
