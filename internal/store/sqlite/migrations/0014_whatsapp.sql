-- WhatsApp Business channel: senders (numbers), message templates, the
-- workspace's rate card, customer threads, the wamids seen (inbound
-- idempotency and the lookup of outbound receipts), and webhook changes
-- no sender claims. Times are INTEGER unix milliseconds; money nano-USD.

CREATE TABLE whatsapp_senders (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL,
    phone_number_id TEXT NOT NULL UNIQUE, -- webhooks are routed by it
    waba_id         TEXT NOT NULL,
    access_token    TEXT NOT NULL,        -- AES-GCM under the instance key
    assistant_id    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT '',
    quality_rating  TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX whatsapp_senders_workspace ON whatsapp_senders (workspace_id, id);
CREATE INDEX whatsapp_senders_waba ON whatsapp_senders (waba_id);

CREATE TABLE whatsapp_templates (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    sender_id       TEXT NOT NULL,
    waba_id         TEXT NOT NULL,
    meta_id         TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL,
    language        TEXT NOT NULL,
    category        TEXT NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    components      TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (workspace_id, waba_id, name, language)
) STRICT;
CREATE INDEX whatsapp_templates_waba ON whatsapp_templates (waba_id, name, language);

CREATE TABLE whatsapp_rates (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    category          TEXT NOT NULL,
    market            TEXT NOT NULL,
    price_per_message INTEGER NOT NULL,
    effective_from    INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX whatsapp_rates_workspace ON whatsapp_rates (workspace_id, category);

-- One row per (sender, customer): the customer is known by phone, by
-- Meta's business-scoped user id, or both; either finds the thread.
CREATE TABLE whatsapp_threads (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    sender_id       TEXT NOT NULL,
    phone           TEXT,
    user_id         TEXT,
    conversation_id TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX whatsapp_threads_phone ON whatsapp_threads (sender_id, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX whatsapp_threads_user ON whatsapp_threads (sender_id, user_id) WHERE user_id IS NOT NULL;

-- Every wamid Parley has stored, inbound or outbound: the primary key
-- makes a redelivered inbound message a no-op, and receipts find their
-- outbound message here.
CREATE TABLE whatsapp_wamids (
    wamid           TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    outbound        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE whatsapp_unrouted (
    id              INTEGER PRIMARY KEY,
    phone_number_id TEXT NOT NULL,
    payload         TEXT NOT NULL,
    received_at     INTEGER NOT NULL
) STRICT;

ALTER TABLE conversations ADD COLUMN customer_whatsapp_user_id TEXT;
ALTER TABLE conversations ADD COLUMN customer_whatsapp_username TEXT;
ALTER TABLE conversations ADD COLUMN customer_message_at INTEGER;
ALTER TABLE conversations ADD COLUMN channel_cost INTEGER;

ALTER TABLE messages ADD COLUMN pricing_category TEXT;
ALTER TABLE messages ADD COLUMN pricing_type TEXT;
ALTER TABLE messages ADD COLUMN channel_cost INTEGER;
ALTER TABLE messages ADD COLUMN channel_data TEXT;
