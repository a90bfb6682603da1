/// A parsed TL schema: constructors (types) and functions, in file order.
public struct TLSchema: Sendable {
    public var constructors: [TLCombinator] = []
    public var functions: [TLCombinator] = []
    /// From a trailing `// LAYER n` comment, when present.
    public var layer: Int?

    public init() {}

    /// Boxed type name → its constructors, in schema order.
    public var constructorsByType: [String: [TLCombinator]] {
        Dictionary(grouping: constructors, by: { $0.result.name })
    }
}

/// One line of a schema: `name#id {X:Type} params = Result;`.
public struct TLCombinator: Sendable, Equatable {
    public var name: String            // full name, e.g. "messages.getDialogs"
    public var id: UInt32
    public var genericParameters: [String]
    public var parameters: [TLParameter]
    public var result: TLTypeReference
    public var isFunction: Bool
    public var line: Int

    /// "messages" for "messages.getDialogs", nil for top-level names.
    public var namespace: String? { name.split(separator: ".").count > 1 ? String(name.split(separator: ".")[0]) : nil }
    /// "getDialogs" for "messages.getDialogs".
    public var localName: String { String(name.split(separator: ".").last ?? Substring(name)) }
}

public struct TLParameter: Sendable, Equatable {
    public var name: String
    public var kind: Kind

    public enum Kind: Sendable, Equatable {
        /// `flags:#`: a bit field computed from the optional parameters that name it.
        case flagWord
        /// `name:flags.N?Type` (`Type` may be `true`: a bit with no data).
        case conditional(flagWord: String, bit: Int, type: TLTypeReference)
        case plain(TLTypeReference)
    }
}

/// A type expression: `int`, `Vector<User>`, `vector<IpPort>`, `%Message`, `!X`, `messages.Dialogs`.
public struct TLTypeReference: Sendable, Equatable {
    public var name: String
    public var argument: [TLTypeReference]
    /// Written without its constructor id: `%T`, or a lowercase (constructor) name like `vector`.
    public var isBare: Bool
    /// `!X`: any function call whose result is the generic type X.
    public var isGenericCall: Bool

    public init(name: String, argument: [TLTypeReference] = [], isBare: Bool = false, isGenericCall: Bool = false) {
        self.name = name
        self.argument = argument
        self.isBare = isBare
        self.isGenericCall = isGenericCall
    }
}
