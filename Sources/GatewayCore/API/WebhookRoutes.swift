import Foundation
import Hummingbird

/// /api/webhooks — kept failed deliveries and their replay (admin).
struct WebhookRoutes {
    let store: any GatewayStore
    let webhooks: WebhookDispatcher

    private struct FailureList: Encodable { var failures: [WebhookFailureResource] }
    private struct Replayed: Encodable { var replayed: Bool }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("failures") { _, context in
            let caller = try context.admin()
            let failures = try await store.webhookFailures(organizationId: caller.organizationId)
            return try jsonResponse(FailureList(failures: failures.map(WebhookFailureResource.init)))
        }
        group.post("failures/:id/replay") { _, context in
            let caller = try context.admin()
            let id = try context.parameters.require("id")
            guard let uuid = UUID(text: id),
                let failure = try await store.removeWebhookFailure(id: uuid, organizationId: caller.organizationId)
            else { throw APIError.notFound("webhook failure") }
            webhooks.replay(failure)
            return try jsonResponse(Replayed(replayed: true), status: .accepted)
        }
    }
}
