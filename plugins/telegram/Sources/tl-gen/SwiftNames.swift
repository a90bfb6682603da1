import TLSchema

/// How TL names become Swift names: namespaces stay lowercase enums (`Api.messages`), types and
/// constructors become PascalCase (`P_Q_inner_data` → `PQInnerData`), fields and cases camelCase.
struct SwiftNames {
    let root: String

    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static", "struct",
        "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else",
        "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "Any",
        "catch", "false", "is", "nil", "super", "self", "Self", "throw", "throws", "true", "try", "Type",
        "Protocol", "await", "async", "some", "any",
    ]

    static func pascal(_ name: String) -> String {
        name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func camel(_ name: String) -> String {
        let pascal = pascal(name)
        return pascal.prefix(1).lowercased() + pascal.dropFirst()
    }

    static func escaped(_ identifier: String) -> String {
        keywords.contains(identifier) ? "`\(identifier)`" : identifier
    }

    static func split(_ fullName: String) -> (namespace: String?, local: String) {
        let parts = fullName.split(separator: ".").map(String.init)
        return parts.count > 1 ? (parts[0], parts[1]) : (nil, parts[0])
    }

    private func qualified(_ section: String?, _ fullName: String) -> String {
        let (namespace, local) = Self.split(fullName)
        return ([root, section, namespace].compactMap { $0 } + [Self.pascal(local)]).joined(separator: ".")
    }

    /// The enum of a boxed type: `Api.messages.Dialogs`.
    func boxedType(_ tlName: String) -> String { qualified(nil, tlName) }
    /// The struct of a constructor: `Api.Types.messages.DialogsSlice`.
    func constructorType(_ tlName: String) -> String { qualified("Types", tlName) }
    /// The struct of a function: `Api.Functions.messages.GetDialogs`.
    func functionType(_ tlName: String) -> String { qualified("Functions", tlName) }

    /// Fields whose names cannot follow `self.` (`self.self` is the value itself).
    static let renamedFields = ["self": "isSelf", "init": "initValue"]

    static func field(_ tlName: String) -> String { escaped(fieldBare(tlName)) }
    /// A field name as used after `self.` and as an argument label.
    static func fieldBare(_ tlName: String) -> String { renamedFields[tlName] ?? camel(tlName) }
    static func enumCase(_ constructorName: String) -> String { escaped(camel(split(constructorName).local)) }
}
