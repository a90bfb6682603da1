/// Schema migrations of the PostgreSQL store, applied in order at start. `schema_migrations`
/// records each applied version; the whole run holds a transaction-scoped advisory lock, so two
/// gateways starting at once apply each migration exactly once. Never edit a shipped migration:
/// append a new one (its statements run one by one in the migration's transaction).
///
/// The tables mirror the SQLite store's: times are epoch seconds (double precision, like SQLite's
/// REAL) so listing order and cursors behave the same; ids that listings sort by are
/// `COLLATE "C"` (byte order, as SQLite compares text); JSON columns stay text (exactly the bytes
/// that were written).
enum PostgresSchema {
    /// Key of the advisory lock taken while migrating ("CGWSCHEM" as a 64-bit integer).
    static let advisoryLockKey: Int64 = 0x4347_5753_4348_454D

    static let migrations: [[String]] = [
        // 1: what SQLite's migrations 1 and 2 built.
        [
            """
            CREATE TABLE accounts (
                id TEXT COLLATE "C" PRIMARY KEY,
                organization_id TEXT NOT NULL,
                platform TEXT NOT NULL,
                display_name TEXT,
                phone TEXT,
                email TEXT,
                status TEXT NOT NULL,
                error TEXT,
                last_activity DOUBLE PRECISION,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX accounts_by_org ON accounts (organization_id, created_at)",
            """
            CREATE TABLE messages (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                organization_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                account_id TEXT NOT NULL,
                chat_id TEXT NOT NULL,
                external_id TEXT,
                direction TEXT NOT NULL,
                contact_id TEXT,
                contact_name TEXT,
                contact_username TEXT,
                contact_phone TEXT,
                contact_email TEXT,
                text TEXT NOT NULL,
                attachments TEXT,
                status TEXT NOT NULL,
                is_read BOOLEAN NOT NULL,
                error TEXT,
                metadata TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                sent_at DOUBLE PRECISION,
                idempotency_key TEXT
            )
            """,
            "CREATE UNIQUE INDEX messages_by_external_id ON messages (account_id, chat_id, external_id)",
            """
            CREATE UNIQUE INDEX messages_by_idempotency_key ON messages (organization_id, idempotency_key)
                WHERE idempotency_key IS NOT NULL
            """,
            "CREATE INDEX messages_by_org_time ON messages (organization_id, created_at, seq)",
            "CREATE INDEX messages_by_org_chat_time ON messages (organization_id, chat_id, created_at, seq)",
            """
            CREATE TABLE chats (
                account_id TEXT COLLATE "C" NOT NULL,
                chat_id TEXT COLLATE "C" NOT NULL,
                organization_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                kind TEXT NOT NULL,
                title TEXT,
                unread_count INTEGER NOT NULL DEFAULT 0,
                last_message_id TEXT,
                last_activity DOUBLE PRECISION NOT NULL DEFAULT 0,
                PRIMARY KEY (account_id, chat_id)
            )
            """,
            "CREATE INDEX chats_by_org_activity ON chats (organization_id, last_activity, account_id, chat_id)",
            """
            CREATE TABLE contacts (
                organization_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                external_id TEXT NOT NULL,
                name TEXT,
                username TEXT,
                phone TEXT,
                email TEXT,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (organization_id, channel, external_id)
            )
            """,
            """
            CREATE TABLE plugin_state (
                plugin TEXT NOT NULL,
                key TEXT NOT NULL,
                value BYTEA NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (plugin, key)
            )
            """,
            """
            CREATE TABLE webhook_failures (
                id TEXT PRIMARY KEY,
                organization_id TEXT NOT NULL,
                url TEXT NOT NULL,
                secret TEXT,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                body BYTEA NOT NULL,
                attempts INTEGER NOT NULL,
                last_error TEXT NOT NULL,
                failed_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX webhook_failures_by_org ON webhook_failures (organization_id, failed_at)",
        ],
        // Account ownership across instances (Cluster/): one lease per driven account, and the
        // live instances (a heartbeat row each) that share the accounts fairly. Times are the
        // server's clock (now()), so instances' clocks never have to agree.
        [
            """
            CREATE TABLE account_leases (
                account_id TEXT COLLATE "C" PRIMARY KEY,
                owner_id TEXT NOT NULL,
                owner_url TEXT NOT NULL,
                expires_at TIMESTAMPTZ NOT NULL,
                epoch BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE cluster_instances (
                instance_id TEXT COLLATE "C" PRIMARY KEY,
                url TEXT NOT NULL,
                expires_at TIMESTAMPTZ NOT NULL
            )
            """,
        ],
        // The transactional outbox of events bound for RabbitMQ (Bus/RabbitMQPublisher); the
        // payload is the event's JSON (text: JSON escapes U+0000).
        [
            """
            CREATE TABLE event_outbox (
                seq BIGSERIAL PRIMARY KEY,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                organization_id TEXT NOT NULL,
                routing_key TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
        ],
    ]
}
