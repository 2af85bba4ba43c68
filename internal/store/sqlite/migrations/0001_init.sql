-- Parley schema for SQLite. Times are INTEGER unix milliseconds (UTC);
-- money is INTEGER nano-USD.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX users_workspace ON users (workspace_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

CREATE TABLE assistants (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    public_key   TEXT NOT NULL UNIQUE,
    config       TEXT NOT NULL, -- JSON of the assistant's settings
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted_at   INTEGER
) STRICT;
CREATE INDEX assistants_workspace ON assistants (workspace_id, id);

CREATE TABLE model_prices (
    id                    TEXT PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    model_pattern         TEXT NOT NULL,
    input_per_mtok        INTEGER NOT NULL,
    output_per_mtok       INTEGER NOT NULL,
    cached_input_per_mtok INTEGER NOT NULL,
    effective_from        INTEGER NOT NULL,
    created_at            INTEGER NOT NULL
) STRICT;
CREATE INDEX model_prices_workspace ON model_prices (workspace_id, model_pattern);

-- seq is the rowid: every secondary index ends with it, which makes it the
-- tie-breaker of keyset pagination for free.
CREATE TABLE conversations (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    workspace_id         TEXT NOT NULL,
    type                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    assistant_id         TEXT NOT NULL,
    ai_enabled           INTEGER NOT NULL,
    external_identifier  TEXT,
    customer_name        TEXT,
    customer_phone       TEXT,
    customer_email       TEXT,
    sender_id            TEXT,
    sender_phone         TEXT,
    variables            TEXT NOT NULL DEFAULT '{}',
    message_count        INTEGER NOT NULL DEFAULT 0,
    input_tokens         INTEGER NOT NULL DEFAULT 0,
    output_tokens        INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens  INTEGER NOT NULL DEFAULT 0,
    total_tokens         INTEGER NOT NULL DEFAULT 0,
    total_cost           INTEGER NOT NULL DEFAULT 0,
    cost_complete        INTEGER NOT NULL DEFAULT 1,
    last_message_role    TEXT,
    last_message_preview TEXT,
    last_message_at      INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    ended_at             INTEGER
) STRICT;
CREATE INDEX conversations_created ON conversations (workspace_id, created_at);
CREATE INDEX conversations_updated ON conversations (workspace_id, updated_at);
CREATE INDEX conversations_cost ON conversations (workspace_id, total_cost);
CREATE INDEX conversations_messages ON conversations (workspace_id, message_count);
CREATE INDEX conversations_type ON conversations (workspace_id, type, created_at);
CREATE INDEX conversations_assistant ON conversations (workspace_id, assistant_id, created_at);
CREATE INDEX conversations_status ON conversations (workspace_id, status, created_at);
CREATE INDEX conversations_phone ON conversations (workspace_id, customer_phone, created_at);
CREATE INDEX conversations_external ON conversations (workspace_id, external_identifier, created_at);
CREATE INDEX conversations_sender ON conversations (workspace_id, sender_phone, created_at);

-- Maintained in the same transaction as every insert and delete, so the
-- unfiltered count (the navigation badge) never scans conversations.
CREATE TABLE conversation_counts (
    workspace_id TEXT NOT NULL,
    type         TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, type)
) STRICT, WITHOUT ROWID;

-- seq = conversation seq << 24 | n (n from 1): a transcript is one
-- contiguous range of the primary key, so it needs no index of its own.
CREATE TABLE messages (
    seq                 INTEGER PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    role                TEXT NOT NULL,
    content             TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    model               TEXT,
    input_tokens        INTEGER,
    output_tokens       INTEGER,
    cached_input_tokens INTEGER,
    total_tokens        INTEGER,
    usage_estimated     INTEGER NOT NULL DEFAULT 0,
    cost                INTEGER,
    latency_ms          INTEGER,
    first_token_ms      INTEGER,
    status              TEXT,
    error_code          TEXT,
    error_message       TEXT,
    template            TEXT,
    external_id         TEXT
) STRICT;

-- Full-text search. A row's rowid is (2^39 - 1 - conversation seq) << 24
-- | n: n = 0 holds the conversation's customer fields, n >= 1 its n-th
-- message. Hits of one conversation are adjacent, and walking rowids up
-- walks conversations newest first, the direction FTS5 seeks fastest, so
-- a search stops at a full page and never ranks all matches.
CREATE VIRTUAL TABLE search USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
