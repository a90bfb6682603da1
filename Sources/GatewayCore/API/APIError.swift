import Foundation
import GatewayModel
import Hummingbird

/// The one error shape of the API: `{"error": {"code", "message", "details"?}}`.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: JSONValue?
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: JSONValue? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retryAfter = retryAfter
    }

    static func validation(_ field: String, _ message: String) -> APIError {
        APIError(.badRequest, "validation_error", message, details: ["field": .string(field)])
    }

    /// "Not found" says nothing about the id: another organization's resource looks exactly
    /// like one that does not exist.
    static func notFound(_ what: String) -> APIError {
        APIError(.notFound, "not_found", "\(what) not found")
    }

    static let unauthorized = APIError(.unauthorized, "unauthorized", "a valid bearer token is required")

    /// The store cannot be reached (database down or restarting): nothing was changed by this
    /// call, or its outcome is not known; retry later. The details are logged, not shown.
    static let storeUnavailable = APIError(
        .serviceUnavailable, "store_unavailable", "the message store is unavailable; retry later", retryAfter: 5)

    static func forbidden(_ message: String) -> APIError {
        APIError(.forbidden, "forbidden", message)
    }

    /// A channel's error as the API reports it: what the user typed wrong is a 400 the user can
    /// retry, flood control a 429, wrong state a 409, a missing plugin a 503, anything else a 502.
    static func channel(_ error: ChannelError, details: JSONValue? = nil) -> APIError {
        var details = details?.objectValue ?? [:]
        details["channelCode"] = .string(error.code)
        let code = error.code
        if code == "FLOOD_WAIT" || code.hasPrefix("FLOOD_WAIT") {
            return APIError(.tooManyRequests, "FLOOD_WAIT", error.message, details: .object(details), retryAfter: error.retryAfter ?? 1)
        }
        if code.hasSuffix("_INVALID") || code.hasSuffix("_EXPIRED") || code.hasSuffix("_REQUIRED") || code.hasSuffix("_EMPTY") {
            return APIError(.badRequest, code, error.message, details: .object(details))
        }
        switch code {
        case "bad_request":
            return APIError(.badRequest, "validation_error", error.message, details: .object(details))
        case "not_connected", "NOT_AWAITING_CODE", "NOT_AWAITING_PASSWORD", "unsupported_operation":
            return APIError(.conflict, "conflict", error.message, details: .object(details))
        case "no_channel", "channel_timeout", "closing":
            return APIError(.serviceUnavailable, "channel_unavailable", error.message, details: .object(details))
        default:
            return APIError(.badGateway, "channel_error", error.message, details: .object(details), retryAfter: error.retryAfter)
        }
    }

    /// The HTTP response for this error.
    func response() -> Response {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let details { error["details"] = details }
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(max(1, retryAfter)) }
        let body = (try? JSONEncoder().encode(JSONValue.object(["error": .object(error)]))) ?? Data()
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
