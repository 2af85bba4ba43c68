-- WhatsApp Business channel: senders (numbers), message templates, the
-- workspace's rate card, customer threads, the wamids seen (inbound
-- idempotency and the lookup of outbound receipts), and webhook changes
-- no sender claims. Times are timestamptz; money nano-USD.

CREATE TABLE whatsapp_senders (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name            text NOT NULL,
    phone           text NOT NULL,
    phone_number_id text NOT NULL UNIQUE, -- webhooks are routed by it
    waba_id         text NOT NULL,
    access_token    text NOT NULL,        -- AES-GCM under the instance key
    assistant_id    text NOT NULL,
    status          text NOT NULL DEFAULT '',
    quality_rating  text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX whatsapp_senders_workspace ON whatsapp_senders (workspace_id, id);
CREATE INDEX whatsapp_senders_waba ON whatsapp_senders (waba_id);

CREATE TABLE whatsapp_templates (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    sender_id       text NOT NULL,
    waba_id         text NOT NULL,
    meta_id         text NOT NULL DEFAULT '',
    name            text NOT NULL,
    language        text NOT NULL,
    category        text NOT NULL,
    status          text NOT NULL,
    reason          text NOT NULL DEFAULT '',
    components      text NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (workspace_id, waba_id, name, language)
);
CREATE INDEX whatsapp_templates_waba ON whatsapp_templates (waba_id, name, language);

CREATE TABLE whatsapp_rates (
    id                text PRIMARY KEY,
    workspace_id      text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    category          text NOT NULL,
    market            text NOT NULL,
    price_per_message bigint NOT NULL,
    effective_from    timestamptz NOT NULL,
    created_at        timestamptz NOT NULL
);
CREATE INDEX whatsapp_rates_workspace ON whatsapp_rates (workspace_id, category);

-- One row per (sender, customer): the customer is known by phone, by
-- Meta's business-scoped user id, or both; either finds the thread.
CREATE TABLE whatsapp_threads (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL,
    sender_id       text NOT NULL,
    phone           text,
    user_id         text,
    conversation_id text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX whatsapp_threads_phone ON whatsapp_threads (sender_id, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX whatsapp_threads_user ON whatsapp_threads (sender_id, user_id) WHERE user_id IS NOT NULL;

-- Every wamid Parley has stored, inbound or outbound: the primary key
-- makes a redelivered inbound message a no-op, and receipts find their
-- outbound message here.
CREATE TABLE whatsapp_wamids (
    wamid           text PRIMARY KEY,
    workspace_id    text NOT NULL,
    conversation_id text NOT NULL,
    message_id      text NOT NULL,
    outbound        boolean NOT NULL
);

CREATE TABLE whatsapp_unrouted (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_number_id text NOT NULL,
    payload         text NOT NULL,
    received_at     timestamptz NOT NULL
);

ALTER TABLE conversations ADD COLUMN customer_whatsapp_user_id text;
ALTER TABLE conversations ADD COLUMN customer_whatsapp_username text;
ALTER TABLE conversations ADD COLUMN customer_message_at timestamptz;
ALTER TABLE conversations ADD COLUMN channel_cost bigint;

ALTER TABLE messages ADD COLUMN pricing_category text;
ALTER TABLE messages ADD COLUMN pricing_type text;
ALTER TABLE messages ADD COLUMN channel_cost bigint;
ALTER TABLE messages ADD COLUMN channel_data text;
