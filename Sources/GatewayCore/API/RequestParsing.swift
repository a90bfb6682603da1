import Foundation
import GatewayModel
import Hummingbird

extension Request {
    /// The JSON object body decoded as `T`: 413 over `limit`, `invalid_json` for anything that
    /// is not a JSON object, `validation_error` naming the field for wrong or missing fields.
    /// An empty body counts as `{}` when `emptyIsObject`.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int, emptyIsObject: Bool = false) async throws -> T {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "payload_too_large", "the request body is larger than \(limit) bytes")
        }
        var request = self
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "payload_too_large", "the request body is larger than \(limit) bytes")
        }
        var data = Data(buffer: buffer)
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard emptyIsObject else { throw APIError(.badRequest, "invalid_json", "a JSON object body is required") }
            data = Data("{}".utf8)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw APIError(.badRequest, "invalid_json", "the body is not valid JSON")
        }
        guard object is [String: Any] else {
            throw APIError(.badRequest, "invalid_json", "the body must be a JSON object")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            let problem = DecodingProblem(error)
            throw APIError.validation(problem.field, problem.message)
        }
    }
}

/// Typed access to query parameters; every malformed value is a `validation_error` naming it.
struct Query {
    let parameters: Parameters

    init(_ request: Request) {
        parameters = request.uri.queryParameters
    }

    func string(_ name: String) -> String? {
        guard let value = parameters[name[...]].map(String.init), !value.isEmpty else { return nil }
        return value
    }

    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.validation(name, "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let text = string(name) else { return nil }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.validation(name, "\(name) must be true or false")
        }
    }

    func enumeration<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw APIError.validation(name, "\(name) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// An ISO-8601 date-time, or a date (midnight UTC).
    func date(_ name: String) throws -> Date? {
        guard let text = string(name) else { return nil }
        if let date = ISO8601.parse(text) ?? (try? Date(text, strategy: .iso8601.year().month().day())) { return date }
        throw APIError.validation(name, "\(name) must be an ISO-8601 date or date-time")
    }

    /// `limit` (1–200, default 50) and `cursor` or `page`.
    func paging() throws -> (limit: Int, paging: PageRequest) {
        let limit = try int("limit", in: 1...200) ?? 50
        if let page = try int("page", in: 1...1_000_000) {
            return (limit, .page(page))
        }
        return (limit, .cursor(string("cursor")))
    }
}

/// A JSON response in the gateway's form (ISO-8601 dates with milliseconds).
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let body = try JSONEncoder.gateway().encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
}
