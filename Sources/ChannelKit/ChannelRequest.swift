import Foundation

/// One request from the host: `{"op": "...", ...fields}`.
public struct ChannelRequest: Sendable {
    public let op: String
    /// The request's raw JSON.
    public let json: Data

    private struct Envelope: Decodable { var op: String }

    init(json: Data) throws {
        self.json = json
        do {
            op = try JSONDecoder().decode(Envelope.self, from: json).op
        } catch {
            throw ChannelError.badRequest("request is not a JSON object with a string \"op\": \(describe(error))")
        }
    }

    /// Decode the request's fields as `T`; a mismatch is a `bad_request` naming the field.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: json)
        } catch {
            throw ChannelError.badRequest("invalid \(op) request: \(describe(error))")
        }
    }
}

/// A one-line description of a decoding error that names the offending field.
func describe(_ error: Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "body" : keys.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context):
        let parent = path(context)
        return "missing field \"\(parent == "body" ? key.stringValue : parent + "." + key.stringValue)\""
    case .typeMismatch(let type, let context):
        return "field \"\(path(context))\" should be \(type)"
    case .valueNotFound(let type, let context):
        return "field \"\(path(context))\" should be \(type), got null"
    case .dataCorrupted(let context):
        return "\(path(context)): \(context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}
