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
    DecodingProblem(error).message
}
