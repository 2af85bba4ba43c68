-- Parley schema for PostgreSQL. Money and tokens are bigint (money in
-- nano-USD); times are timestamptz with millisecond precision.

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE workspaces (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id            text PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_workspace ON users (workspace_id);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

CREATE TABLE assistants (
    id           text PRIMARY KEY,
    workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    public_key   text NOT NULL UNIQUE,
    config       jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    deleted_at   timestamptz
);
CREATE INDEX assistants_workspace ON assistants (workspace_id, id);

CREATE TABLE model_prices (
    id                    text PRIMARY KEY,
    workspace_id          text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    model_pattern         text NOT NULL,
    input_per_mtok        bigint NOT NULL,
    output_per_mtok       bigint NOT NULL,
    cached_input_per_mtok bigint NOT NULL,
    effective_from        timestamptz NOT NULL,
    created_at            timestamptz NOT NULL
);
CREATE INDEX model_prices_workspace ON model_prices (workspace_id, model_pattern);

CREATE TABLE conversations (
    seq                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                   text NOT NULL UNIQUE,
    workspace_id         text NOT NULL,
    type                 text NOT NULL,
    status               text NOT NULL,
    assistant_id         text NOT NULL,
    ai_enabled           boolean NOT NULL,
    external_identifier  text,
    customer_name        text,
    customer_phone       text,
    customer_email       text,
    sender_id            text,
    sender_phone         text,
    variables            jsonb NOT NULL DEFAULT '{}',
    message_count        bigint NOT NULL DEFAULT 0,
    input_tokens         bigint NOT NULL DEFAULT 0,
    output_tokens        bigint NOT NULL DEFAULT 0,
    cached_input_tokens  bigint NOT NULL DEFAULT 0,
    total_tokens         bigint NOT NULL DEFAULT 0,
    total_cost           bigint NOT NULL DEFAULT 0,
    cost_complete        boolean NOT NULL DEFAULT true,
    last_message_role    text,
    last_message_preview text,
    last_message_at      timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    ended_at             timestamptz,
    -- Punctuation is made a word break before parsing, as the query side
    -- does, so "ada@example.com", "+1 555…" and "¿dónde?" match by their
    -- parts. The class lists code points (ASCII, Latin-1, general, CJK and
    -- full-width punctuation) rather than [^[:alnum:]], whose meaning
    -- depends on the database's locale: under LC_CTYPE C it would break
    -- words at every non-ASCII letter ("café" → "caf").
    search_tsv           tsvector GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(
        coalesce(customer_name, '') || ' ' || coalesce(customer_phone, '') || ' ' ||
        coalesce(customer_email, '') || ' ' || coalesce(external_identifier, ''),
        E'[\\x01-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f\\u0080-\\u00a9\\u00ab-\\u00b4\\u00b6-\\u00b9\\u00bb-\\u00bf\\u00d7\\u00f7\\u2000-\\u206f\\u3000-\\u3004\\u3008-\\u3020\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65]+', ' ', 'g'))) STORED
);
CREATE INDEX conversations_created ON conversations (workspace_id, created_at, seq);
CREATE INDEX conversations_updated ON conversations (workspace_id, updated_at, seq);
CREATE INDEX conversations_cost ON conversations (workspace_id, total_cost, seq);
CREATE INDEX conversations_messages ON conversations (workspace_id, message_count, seq);
CREATE INDEX conversations_type ON conversations (workspace_id, type, created_at, seq);
CREATE INDEX conversations_assistant ON conversations (workspace_id, assistant_id, created_at, seq);
CREATE INDEX conversations_status ON conversations (workspace_id, status, created_at, seq);
CREATE INDEX conversations_phone ON conversations (workspace_id, customer_phone, created_at, seq);
CREATE INDEX conversations_external ON conversations (workspace_id, external_identifier, created_at, seq);
CREATE INDEX conversations_sender ON conversations (workspace_id, sender_phone, created_at, seq);
CREATE INDEX conversations_search ON conversations USING gin (search_tsv);

CREATE TABLE conversation_counts (
    workspace_id text NOT NULL,
    type         text NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (workspace_id, type)
);

-- seq = conversation seq << 24 | n (n from 1): a transcript is one range
-- of the primary key.
CREATE TABLE messages (
    seq                 bigint PRIMARY KEY,
    id                  text NOT NULL UNIQUE,
    role                text NOT NULL,
    content             text NOT NULL,
    created_at          timestamptz NOT NULL,
    model               text,
    input_tokens        bigint,
    output_tokens       bigint,
    cached_input_tokens bigint,
    total_tokens        bigint,
    usage_estimated     boolean NOT NULL DEFAULT false,
    cost                bigint,
    latency_ms          bigint,
    first_token_ms      bigint,
    status              text,
    error_code          text,
    error_message       text,
    template            jsonb,
    external_id         text,
    -- Word breaks as on conversations.search_tsv.
    tsv                 tsvector GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(content,
        E'[\\x01-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f\\u0080-\\u00a9\\u00ab-\\u00b4\\u00b6-\\u00b9\\u00bb-\\u00bf\\u00d7\\u00f7\\u2000-\\u206f\\u3000-\\u3004\\u3008-\\u3020\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65]+', ' ', 'g'))) STORED
);
CREATE INDEX messages_search ON messages USING gin (tsv);
