import Foundation
import Hummingbird

/// `/` (the console's page) and `/console/<file>` (its scripts and styles).
struct ConsoleRoutes {
    let assets: ConsoleAssets

    /// Same-origin only: the console loads nothing from anywhere else (no CDN) and talks only to
    /// this gateway's API and hub.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        + "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    /// HTTPTypes has no constant for it (Hummingbird exposes HTTPFields, whose elements are HTTPField).
    static let referrerPolicy = HTTPFields.Element.Name("Referrer-Policy")!

    func register(on router: Router<APIRequestContext>) {
        router.get("/") { request, _ in try serve("index.html", request) }
        router.get("/console/:file") { request, context in try serve(try context.parameters.require("file"), request) }
    }

    private func serve(_ name: String, _ request: Request) throws -> Response {
        guard let asset = assets.files[name] else { throw APIError.notFound("console file \(name)") }
        var headers: HTTPFields = [
            .contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache",
            .contentSecurityPolicy: Self.contentSecurityPolicy, .xContentTypeOptions: "nosniff",
            Self.referrerPolicy: "no-referrer",
        ]
        if request.headers[.ifNoneMatch] == asset.etag {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
