import Foundation
import GatewayModel
import Hummingbird
import NIOCore

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
        } catch is NIOTooManyBytesError {
            // A chunked body (no Content-Length) that grows past the limit.
            throw APIError(.contentTooLarge, "payload_too_large", "the request body is larger than \(limit) bytes")
        }
        var data = Data(buffer: buffer)
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard emptyIsObject else { throw APIError(.badRequest, "invalid_json", "a JSON object body is required") }
            data = Data("{}".utf8)
        }
        guard !StrictJSON.hasTrailingComma(data), let document = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw APIError(.badRequest, "invalid_json", "the body is not valid JSON")
        }
        guard case .object(let fields) = document else {
            throw APIError(.badRequest, "invalid_json", "the body must be a JSON object")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            var problem = DecodingProblem(error)
            // A number too large for its field fails at the document level; name the field.
            if problem.field == "body", let (name, _) = fields.first(where: { _, value in
                if case .number(let number) = value { return abs(number) > 9_007_199_254_740_991 || number != number.rounded() }
                return false
            }) {
                problem = DecodingProblem(field: name, message: "field \"\(name)\" is not an integer in range")
            }
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

    /// A form-encoded value (`+` is a space; a literal plus arrives as %2B).
    func string(_ name: String) -> String? {
        guard let value = parameters[name[...]].map(String.init), !value.isEmpty else { return nil }
        return value.contains("+") ? value.replacingOccurrences(of: "+", with: " ") : value
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
        if let date = ISO8601.parse(text) { return date }
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

/// A response of the JSON a `JSONWriter` wrote.
func jsonResponse(_ writer: borrowing JSONWriter, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: ResponseBody(byteBuffer: writer.withUnsafeBytes { ByteBuffer(bytes: $0) }))
}

/// A JSON response in the gateway's form (ISO-8601 dates with milliseconds).
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let body = try JSONEncoder.gateway().encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
}

/// What Foundation's JSON parsers let through but JSON (RFC 8259) does not.
enum StrictJSON {
    /// A `,` directly before `}` or `]` (whitespace aside), outside strings.
    static func hasTrailingComma(_ data: Data) -> Bool {
        var inString = false
        var escaped = false
        var pendingComma = false
        for byte in data {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true; pendingComma = false
            case UInt8(ascii: ","): pendingComma = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"): if pendingComma { return true }
            case 0x20, 0x09, 0x0A, 0x0D: break
            default: pendingComma = false
            }
        }
        return false
    }
}
