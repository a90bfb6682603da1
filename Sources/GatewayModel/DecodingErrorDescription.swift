/// Where a decoding error happened and what was wrong, for error messages that name the field.
public struct DecodingProblem: Sendable, Equatable {
    /// Dotted path of the offending field (`body` for the whole document).
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public init(_ error: Error) {
        guard let error = error as? DecodingError else {
            field = "body"
            message = "\(error)"
            return
        }
        func path(_ context: DecodingError.Context, appending key: CodingKey? = nil) -> String {
            let keys = (context.codingPath + (key.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "body" : keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            field = path(context, appending: key)
            message = "missing field \"\(field)\""
        case .typeMismatch(let type, let context):
            field = path(context)
            message = "field \"\(field)\" should be \(Self.name(of: type))"
        case .valueNotFound(let type, let context):
            field = path(context)
            message = "field \"\(field)\" should be \(Self.name(of: type)), got null"
        case .dataCorrupted(let context):
            field = path(context)
            message = "field \"\(field)\": \(context.debugDescription)"
        @unknown default:
            field = "body"
            message = "\(error)"
        }
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default: "\(type)".hasPrefix("Array") ? "a list" : "\(type)".hasPrefix("Dictionary") ? "an object" : "\(type)"
        }
    }
}
