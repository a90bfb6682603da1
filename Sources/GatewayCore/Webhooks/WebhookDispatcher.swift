import AsyncHTTPClient
import Foundation
import GatewayModel
import Logging
import NIOCore
import NIOHTTP1

/// Delivers events to webhook URLs: signed POSTs, retried with exponential backoff; a delivery
/// that runs out of attempts is kept in the store for inspection and replay.
public final class WebhookDispatcher: Sendable {
    private let client: HTTPClient
    private let store: any GatewayStore
    private let config: WebhooksConfig
    private let logger: Logger

    public init(client: HTTPClient, store: any GatewayStore, config: WebhooksConfig, logger: Logger) {
        self.client = client
        self.store = store
        self.config = config
        self.logger = logger
    }

    /// Starts delivering in the background; never blocks the caller.
    func deliver(_ event: GatewayEvent, url: String, secret: String?, attempts: Int) {
        guard let body = try? JSONEncoder.gateway().encode(event) else { return }
        let delivery = Delivery(
            id: UUID(), organizationId: event.organizationId, url: url, secret: secret, eventId: event.id,
            eventType: event.type.rawValue, body: body)
        Task { await run(delivery, attempts: max(1, attempts)) }
    }

    /// Delivers a kept failure again (with a fresh set of attempts); true once delivered.
    func replay(_ failure: WebhookFailure, attempts: Int = 5) {
        let delivery = Delivery(
            id: failure.id, organizationId: failure.organizationId, url: failure.url, secret: failure.secret,
            eventId: failure.eventId, eventType: failure.eventType, body: failure.body)
        Task { await run(delivery, attempts: attempts) }
    }

    struct Delivery: Sendable {
        var id: UUID
        var organizationId: String
        var url: String
        var secret: String?
        var eventId: UUID
        var eventType: String
        var body: Data
    }

    private func run(_ delivery: Delivery, attempts: Int) async {
        var lastError = ""
        for attempt in 1...attempts {
            if attempt > 1 {
                let delay = config.initialBackoffMilliseconds << min(attempt - 2, 16)
                try? await Task.sleep(for: .milliseconds(delay))
            }
            do {
                let status = try await post(delivery)
                if (200..<300).contains(status) { return }
                lastError = "HTTP \(status)"
            } catch {
                lastError = "\(error)"
            }
            logger.debug("webhook \(delivery.url) attempt \(attempt)/\(attempts) failed: \(lastError)")
        }
        logger.warning("webhook \(delivery.url) gave up after \(attempts) attempts: \(lastError)")
        let failure = WebhookFailure(
            id: delivery.id, organizationId: delivery.organizationId, url: delivery.url, secret: delivery.secret,
            eventId: delivery.eventId, eventType: delivery.eventType, body: delivery.body, attempts: attempts,
            lastError: lastError, failedAt: Date())
        do {
            try await store.recordWebhookFailure(failure)
        } catch {
            logger.error("could not keep the failed webhook delivery \(delivery.id): \(error)")
        }
    }

    private func post(_ delivery: Delivery) async throws -> UInt {
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        let timestamp = Int(Date().timeIntervalSince1970)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ChannelGateway/\(Gateway.version)")
        request.headers.add(name: "X-Gateway-Event", value: delivery.eventType)
        request.headers.add(name: "X-Gateway-Delivery", value: delivery.id.lowercasedString)
        request.headers.add(name: "X-Gateway-Timestamp", value: String(timestamp))
        if let secret = delivery.secret {
            request.headers.add(
                name: "X-Gateway-Signature", value: WebhookSignature.sign(body: delivery.body, timestamp: timestamp, secret: secret))
        }
        request.body = .bytes(ByteBuffer(bytes: delivery.body))
        let response = try await client.execute(request, timeout: .milliseconds(Int64(config.timeoutMilliseconds)))
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return response.status.code
    }
}
