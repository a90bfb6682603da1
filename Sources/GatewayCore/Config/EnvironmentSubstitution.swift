/// Expands `${NAME}` and `${NAME:-default}` in a config value.
enum EnvironmentSubstitution {
    enum Failure: Error, Equatable {
        case unset(String)
        case unterminated
        case badName(String)
    }

    static func expand(_ text: String, environment: [String: String]) throws(Failure) -> String {
        guard text.contains("${") else { return text }
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            let afterOpen = rest[start.upperBound...]
            guard let close = afterOpen.firstIndex(of: "}") else { throw .unterminated }
            let expression = afterOpen[..<close]
            let name: Substring
            let fallback: Substring?
            if let separator = expression.range(of: ":-") {
                name = expression[..<separator.lowerBound]
                fallback = expression[separator.upperBound...]
            } else {
                name = expression
                fallback = nil
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw .badName(String(name))
            }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                throw .unset(String(name))
            }
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        output += rest
        return output
    }
}
