import Foundation

/// Parses TL schema text (the format of Telegram's api.tl / mtproto.tl).
public enum TLSchemaParser {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws -> TLSchema {
        var schema = TLSchema()
        var inFunctions = false
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine)
            if let comment = line.range(of: "//") {
                let text = line[comment.upperBound...].trimmingCharacters(in: .whitespaces)
                if text.hasPrefix("LAYER "), let layer = Int(text.dropFirst(6).trimmingCharacters(in: .whitespaces)) {
                    schema.layer = layer
                }
                line = line[..<comment.lowerBound]
            }
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            if trimmed == "---types---" { inFunctions = false; continue }
            if trimmed == "---functions---" { inFunctions = true; continue }
            let combinator = try parseCombinator(trimmed, line: lineNumber, isFunction: inFunctions)
            if inFunctions { schema.functions.append(combinator) } else { schema.constructors.append(combinator) }
        }
        return schema
    }

    static func parseCombinator(_ text: String, line: Int, isFunction: Bool) throws -> TLCombinator {
        func fail(_ message: String) -> ParseError { ParseError(line: line, message: message) }
        guard text.hasSuffix(";") else { throw fail("declaration does not end with ';'") }
        let body = text.dropLast()
        guard let equals = body.range(of: " = ") ?? body.range(of: "=") else { throw fail("no '=' before the result type") }
        let left = body[..<equals.lowerBound].split(separator: " ").map(String.init)
        let resultText = body[equals.upperBound...].trimmingCharacters(in: .whitespaces)
        guard let head = left.first else { throw fail("no combinator name") }
        let headParts = head.split(separator: "#", omittingEmptySubsequences: false)
        guard headParts.count == 2, !headParts[0].isEmpty, let id = UInt32(headParts[1], radix: 16) else {
            throw fail("'\(head)' is not name#hexid")
        }
        var generics: [String] = []
        var parameters: [TLParameter] = []
        for token in left.dropFirst() {
            if token.hasPrefix("{") {
                guard token.hasSuffix("}"), let colon = token.firstIndex(of: ":") else { throw fail("bad generic '\(token)'") }
                generics.append(String(token[token.index(after: token.startIndex)..<colon]))
                continue
            }
            guard let colon = token.firstIndex(of: ":") else { throw fail("parameter '\(token)' has no type") }
            let name = String(token[..<colon])
            let typeText = String(token[token.index(after: colon)...])
            if typeText == "#" {
                parameters.append(TLParameter(name: name, kind: .flagWord))
            } else if let question = typeText.firstIndex(of: "?") {
                let condition = typeText[..<question].split(separator: ".")
                guard condition.count == 2, let bit = Int(condition[1]), (0..<32).contains(bit),
                      parameters.contains(where: { $0.name == condition[0] && $0.kind == .flagWord })
                else { throw fail("bad condition '\(typeText[..<question])' in '\(token)'") }
                let type = try parseType(String(typeText[typeText.index(after: question)...]), line: line)
                parameters.append(TLParameter(name: name, kind: .conditional(flagWord: String(condition[0]), bit: bit, type: type)))
            } else {
                parameters.append(TLParameter(name: name, kind: .plain(try parseType(typeText, line: line))))
            }
        }
        return TLCombinator(name: String(headParts[0]), id: id, genericParameters: generics, parameters: parameters,
                            result: try parseType(resultText, line: line), isFunction: isFunction, line: line)
    }

    static func parseType(_ text: String, line: Int) throws -> TLTypeReference {
        var text = Substring(text)
        var reference = TLTypeReference(name: "")
        if text.hasPrefix("!") { reference.isGenericCall = true; text = text.dropFirst() }
        if text.hasPrefix("%") { reference.isBare = true; text = text.dropFirst() }
        if let open = text.firstIndex(of: "<") {
            guard text.hasSuffix(">") else { throw ParseError(line: line, message: "unbalanced '<' in '\(text)'") }
            reference.name = String(text[..<open])
            reference.argument = [try parseType(String(text[text.index(after: open)..<text.index(before: text.endIndex)]), line: line)]
        } else if let space = text.firstIndex(of: " ") {  // "Vector t" form
            reference.name = String(text[..<space])
            reference.argument = [try parseType(String(text[text.index(after: space)...]), line: line)]
        } else {
            reference.name = String(text)
        }
        guard !reference.name.isEmpty else { throw ParseError(line: line, message: "empty type") }
        let local = reference.name.split(separator: ".").last ?? ""
        if let first = local.first, first.isLowercase, !TLTypeReference.primitives.contains(reference.name) {
            reference.isBare = true
        }
        return reference
    }
}

extension TLTypeReference {
    /// Built-in types written bare by definition.
    public static let primitives: Set<String> = ["int", "long", "double", "string", "bytes", "int128", "int256", "true", "#"]
}

