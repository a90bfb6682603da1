import Foundation
import Hummingbird
import Prometheus

/// The gateway's HTTP routes: operations endpoints and the REST API (docs/API.md).
enum HTTPRoutes {
    static func build(gateway: Gateway, metrics: PrometheusCollectorRegistry?) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        let rateLimiter = RateLimiter(perMinute: gateway.config.api.rateLimitPerMinute)
        let auth = AuthMiddleware(authenticator: gateway.authenticator, rateLimiter: rateLimiter)

        router.get("/health") { _, _ in
            try jsonResponse(await gateway.health())
        }
        router.get("/openapi.yaml") { _, _ -> Response in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
                let document = try? Data(contentsOf: url)
            else { throw APIError.notFound("openapi.yaml") }
            return Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: document)))
        }
        let metricsResponder: @Sendable (Request, APIRequestContext) async throws -> Response = { _, _ in
            guard let metrics else { throw APIError.notFound("metrics") }
            var buffer = [UInt8]()
            metrics.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        if gateway.config.metrics.isPublic {
            router.get("/metrics", use: metricsResponder)
        } else {
            router.group("/metrics").add(middleware: auth).get(use: metricsResponder)
        }

        HubRoutes(hub: gateway.hub, corsOrigins: gateway.config.server.corsOrigins).register(on: router)
        ConsoleRoutes(assets: ConsoleAssets()).register(on: router)

        let api = router.group("/api").add(middleware: auth)
        let bodyLimit = gateway.config.server.bodyLimit
        let accounts = AccountService(store: gateway.store, accounts: gateway.accounts, plugins: gateway.plugins, ownership: gateway.ownership)
        let messaging = MessagingService(store: gateway.store, accounts: accounts, plugins: gateway.plugins, pipeline: gateway.pipeline)
        let owners = OwnerRouting(ownership: gateway.ownership, forwarder: gateway.forwarder)
        AccountRoutes(accounts: accounts, messaging: messaging, bodyLimit: bodyLimit, owners: owners).register(on: api.group("bd-accounts"))
        MessagingRoutes(store: gateway.store, messaging: messaging, bodyLimit: bodyLimit, owners: owners).register(on: api.group("messaging"))
        WebhookRoutes(store: gateway.store, webhooks: gateway.webhooks).register(on: api.group("webhooks"))
        return router
    }
}
