import Foundation
import Hummingbird
import Prometheus

/// The gateway's HTTP routes: operations endpoints now, the REST API and the hub attach here.
enum HTTPRoutes {
    static func build(gateway: Gateway, metrics: PrometheusCollectorRegistry?) -> Hummingbird.Router<BasicRequestContext> {
        let router = Hummingbird.Router()
        router.get("/health") { _, _ in
            await gateway.health()
        }
        router.get("/metrics") { _, _ -> Response in
            guard let metrics else {
                return Response(status: .notFound)
            }
            var buffer = [UInt8]()
            metrics.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        return router
    }
}
