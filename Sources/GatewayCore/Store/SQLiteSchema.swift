/// Schema migrations of the embedded store, applied in order at start (PRAGMA user_version
/// records how far a database got). Never edit a shipped migration: append a new one.
enum SQLiteSchema {
    static let migrations: [String] = [
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            organization_id TEXT NOT NULL,
            platform TEXT NOT NULL,
            display_name TEXT,
            phone TEXT,
            email TEXT,
            status TEXT NOT NULL,
            error TEXT,
            last_activity REAL,
            created_at REAL NOT NULL
        );
        CREATE INDEX accounts_by_org ON accounts(organization_id, created_at);

        CREATE TABLE messages (
            seq INTEGER PRIMARY KEY,
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
            is_read INTEGER NOT NULL,
            error TEXT,
            metadata TEXT,
            created_at REAL NOT NULL,
            sent_at REAL
        );
        CREATE UNIQUE INDEX messages_by_external_id ON messages(account_id, chat_id, external_id);
        CREATE INDEX messages_by_org_time ON messages(organization_id, created_at, seq);

        CREATE TABLE chats (
            account_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            organization_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT,
            unread_count INTEGER NOT NULL DEFAULT 0,
            last_message_id TEXT,
            last_activity REAL,
            PRIMARY KEY (account_id, chat_id)
        );
        CREATE INDEX chats_by_org_activity ON chats(organization_id, last_activity);

        CREATE TABLE contacts (
            organization_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            external_id TEXT NOT NULL,
            name TEXT,
            username TEXT,
            phone TEXT,
            email TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (organization_id, channel, external_id)
        );

        CREATE TABLE plugin_state (
            plugin TEXT NOT NULL,
            key TEXT NOT NULL,
            value BLOB NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (plugin, key)
        );
        """,
        // 2: API sends (idempotency keys), chat views of messages, kept webhook failures.
        """
        ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
        CREATE UNIQUE INDEX messages_by_idempotency_key ON messages(organization_id, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
        CREATE INDEX messages_by_org_chat_time ON messages(organization_id, chat_id, created_at, seq);

        CREATE TABLE webhook_failures (
            id TEXT PRIMARY KEY,
            organization_id TEXT NOT NULL,
            url TEXT NOT NULL,
            secret TEXT,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            body BLOB NOT NULL,
            attempts INTEGER NOT NULL,
            last_error TEXT NOT NULL,
            failed_at REAL NOT NULL
        );
        CREATE INDEX webhook_failures_by_org ON webhook_failures(organization_id, failed_at);

        UPDATE chats SET last_activity = 0 WHERE last_activity IS NULL;
        DROP INDEX chats_by_org_activity;
        CREATE INDEX chats_by_org_activity ON chats(organization_id, last_activity, account_id, chat_id);
        """,
        // 3: the transactional outbox of events bound for RabbitMQ (Bus/RabbitMQPublisher).
        """
        CREATE TABLE event_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            organization_id TEXT NOT NULL,
            routing_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        """,
        // 4: chats find their last message by rowid (an integer key, one b-tree search) rather
        // than through the TEXT id index (two); the id stays the check that it is the same row.
        """
        ALTER TABLE chats ADD COLUMN last_message_seq INTEGER;
        UPDATE chats SET last_message_seq = (SELECT seq FROM messages WHERE id = chats.last_message_id);
        """,
        // 5: revisions for the listings' JSON caches (RowJSONCache). Every version of a chat row,
        // its last message included, gets a revision no other version ever had (one counter);
        // a message gets one each time it changes (0 as inserted: its id tells rows apart).
        // Triggers keep them true whoever writes.
        """
        ALTER TABLE chats ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE messages ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
        UPDATE chats SET revision = rowid;
        CREATE TABLE revision_counter (value INTEGER NOT NULL);
        INSERT INTO revision_counter SELECT COALESCE(MAX(rowid), 0) FROM chats;

        CREATE TRIGGER chats_revision_on_insert AFTER INSERT ON chats BEGIN
            UPDATE revision_counter SET value = value + 1;
            UPDATE chats SET revision = (SELECT value FROM revision_counter) WHERE rowid = NEW.rowid;
        END;
        CREATE TRIGGER chats_revision_on_update AFTER UPDATE ON chats WHEN NEW.revision = OLD.revision BEGIN
            UPDATE revision_counter SET value = value + 1;
            UPDATE chats SET revision = (SELECT value FROM revision_counter) WHERE rowid = NEW.rowid;
        END;
        CREATE TRIGGER messages_revision_on_update AFTER UPDATE ON messages WHEN NEW.revision = OLD.revision BEGIN
            UPDATE revision_counter SET value = value + 1;
            UPDATE messages SET revision = (SELECT value FROM revision_counter) WHERE seq = NEW.seq;
            UPDATE chats SET last_message_seq = last_message_seq
            WHERE account_id = NEW.account_id AND chat_id = NEW.chat_id AND last_message_seq = NEW.seq;
        END;
        CREATE TRIGGER chats_revision_on_message_delete AFTER DELETE ON messages BEGIN
            UPDATE chats SET last_message_seq = last_message_seq
            WHERE account_id = OLD.account_id AND chat_id = OLD.chat_id AND last_message_seq = OLD.seq;
        END;
        """,
    ]
}
