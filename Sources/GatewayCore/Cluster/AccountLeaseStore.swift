import Foundation
import Logging
import PostgresNIO

/// The lease table's statements (`account_leases`, `cluster_instances` — PostgresSchema).
/// Every time is the server's `now()`, so instances never compare their own clocks. A lease
/// carries a fencing epoch that grows each time the account changes hands: a holder renews only
/// the epoch it acquired, so an instance that lost an account (a pause, a partition) learns it
/// at its next renewal instead of renewing someone else's lease.
public struct AccountLeaseStore: Sendable {
    let store: PostgresStore

    public init(store: PostgresStore) { self.store = store }

    /// A lease as the table holds it.
    public struct Lease: Sendable, Equatable {
        public var accountId: String
        public var ownerId: String
        public var ownerURL: String
        public var epoch: Int
        /// Not expired at the time of the query.
        public var live: Bool
    }

    /// An account that should be driven and whose lease is free, expired, or ours but not held.
    public struct Candidate: Sendable, Equatable {
        public var accountId: String
        public var platform: String
    }

    private var logger: Logger { store.logger }

    /// Takes the account's lease for `seconds` when it is free, expired or already ours (atomic:
    /// of two contenders exactly one gets a row back). The epoch of the lease now held, or nil.
    public func acquire(_ accountId: String, owner: String, url: String, seconds: Int) async throws -> Int? {
        try await store.withConnection { [logger] connection in
            try await connection.rows("""
                INSERT INTO account_leases (account_id, owner_id, owner_url, expires_at, epoch)
                VALUES (?, ?, ?, now() + make_interval(secs => ?), 1)
                ON CONFLICT (account_id) DO UPDATE SET
                    owner_id = EXCLUDED.owner_id, owner_url = EXCLUDED.owner_url, expires_at = EXCLUDED.expires_at,
                    epoch = CASE WHEN account_leases.owner_id = EXCLUDED.owner_id THEN account_leases.epoch
                                 ELSE account_leases.epoch + 1 END
                WHERE account_leases.expires_at <= now() OR account_leases.owner_id = EXCLUDED.owner_id
                RETURNING epoch
                """, [.text(accountId), .text(owner), .text(url), .double(Double(seconds))], logger: logger).first?.int(0)
        }
    }

    /// Extends the leases `owner` holds at the given epochs; the ids that were renewed (a missing
    /// id was taken over, or deleted).
    public func renew(_ held: [String: Int], owner: String, seconds: Int) async throws -> Set<String> {
        guard !held.isEmpty else { return [] }
        let ids = Array(held.keys)
        return try await store.withConnection { [logger] connection in
            let rows = try await connection.rows("""
                UPDATE account_leases l SET expires_at = now() + make_interval(secs => ?)
                FROM unnest(?::text[], ?::bigint[]) AS h(account_id, epoch)
                WHERE l.account_id = h.account_id AND l.epoch = h.epoch AND l.owner_id = ?
                RETURNING l.account_id
                """, [.double(Double(seconds)), .texts(ids), .texts(ids.map { String(held[$0]!) }), .text(owner)], logger: logger)
            return Set(rows.compactMap { $0.string(0) })
        }
    }

    /// Gives leases up at once (graceful stop, a deleted account), if still ours.
    public func release(_ accountIds: [String], owner: String) async throws {
        guard !accountIds.isEmpty else { return }
        try await store.withConnection { [logger] connection in
            _ = try await connection.rows(
                "DELETE FROM account_leases WHERE owner_id = ? AND account_id = ANY(?::text[])",
                [.text(owner), .texts(accountIds)], logger: logger)
        }
    }

    public func lease(of accountId: String) async throws -> Lease? {
        try await store.withConnection { [logger] connection in
            try await connection.rows(
                "SELECT account_id, owner_id, owner_url, epoch, expires_at > now() FROM account_leases WHERE account_id = ?",
                [.text(accountId)], logger: logger
            ).first.map { row in
                Lease(accountId: row.string(0) ?? accountId, ownerId: row.string(1) ?? "", ownerURL: row.string(2) ?? "",
                      epoch: row.int(3) ?? 0, live: row.bool(4) ?? false)
            }
        }
    }

    /// Stored accounts in one of `statuses` on one of `platforms` that nobody drives (no lease,
    /// an expired one, or one of `owner`'s that it does not hold any more), and how many accounts
    /// in those statuses there are in all.
    public func candidates(statuses: [String], platforms: [String], owner: String) async throws
        -> (candidates: [Candidate], total: Int)
    {
        guard !platforms.isEmpty else { return ([], 0) }
        return try await store.withConnection { [logger] connection in
            let rows = try await connection.rows("""
                SELECT a.id, a.platform, (l.account_id IS NULL OR l.expires_at <= now() OR l.owner_id = ?)
                FROM accounts a LEFT JOIN account_leases l ON l.account_id = a.id
                WHERE a.status = ANY(?::text[]) AND a.platform = ANY(?::text[])
                ORDER BY a.id
                """, [.text(owner), .texts(statuses), .texts(platforms)], logger: logger)
            let free = rows.filter { $0.bool(2) == true }.compactMap { row -> Candidate? in
                guard let id = row.string(0), let platform = row.string(1) else { return nil }
                return Candidate(accountId: id, platform: platform)
            }
            return (free, rows.count)
        }
    }

    /// Records this instance as live for `seconds`; returns how many instances are live now.
    public func heartbeat(instance: String, url: String, seconds: Int) async throws -> Int {
        try await store.withConnection { [logger] connection in
            _ = try await connection.rows("""
                INSERT INTO cluster_instances (instance_id, url, expires_at) VALUES (?, ?, now() + make_interval(secs => ?))
                ON CONFLICT (instance_id) DO UPDATE SET url = EXCLUDED.url, expires_at = EXCLUDED.expires_at
                """, [.text(instance), .text(url), .double(Double(seconds))], logger: logger)
            // Long-dead rows go, so the table stays the size of the cluster.
            _ = try await connection.rows(
                "DELETE FROM cluster_instances WHERE expires_at < now() - interval '1 hour'", logger: logger)
            return try await connection.rows(
                "SELECT COUNT(*) FROM cluster_instances WHERE expires_at > now()", logger: logger).first?.int(0) ?? 1
        }
    }

    public func removeInstance(_ instance: String) async throws {
        try await store.withConnection { [logger] connection in
            _ = try await connection.rows("DELETE FROM cluster_instances WHERE instance_id = ?", [.text(instance)], logger: logger)
        }
    }
}
