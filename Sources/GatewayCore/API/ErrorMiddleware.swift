import Foundation
import GatewayModel
import Hummingbird
import Logging

/// Turns every error into the API's error shape; nothing escapes as a bare 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.apiError(for: error, logger: context.logger).response()
        }
    }

    static func apiError(for error: Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as ChannelError:
            return .channel(error)
        case let error as InvalidQuery:
            return .validation(error.field, error.message)
        case let error as StoreUnavailable:
            logger.warning("store unavailable: \(error)")
            return .storeUnavailable
        case let error as HTTPError:
            switch error.status {
            case .notFound: return APIError(.notFound, "not_found", "no such route")
            case .methodNotAllowed: return APIError(.methodNotAllowed, "method_not_allowed", "method not allowed here")
            case .contentTooLarge: return APIError(.contentTooLarge, "payload_too_large", "the request body is too large")
            case .unauthorized: return .unauthorized
            default:
                return APIError(error.status, error.status.code < 500 ? "bad_request" : "internal_error", error.body ?? error.status.reasonPhrase)
            }
        default:
            logger.error("unexpected error: \(String(reflecting: error))")
            return APIError(.internalServerError, "internal_error", "internal error")
        }
    }
}
