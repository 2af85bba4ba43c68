-- The list API lets callers combine assistant, status and type. With an
-- index on one of them only, a small assistant's ended conversations are
-- found by walking all of that assistant's (or every ended) conversation;
-- these seek both filters and read in created_at order (the rowid, seq,
-- ends every index and breaks ties).
CREATE INDEX conversations_assistant_status ON conversations (workspace_id, assistant_id, status, created_at);
CREATE INDEX conversations_assistant_type ON conversations (workspace_id, assistant_id, type, created_at);
CREATE INDEX conversations_type_status ON conversations (workspace_id, type, status, created_at);

-- A prefix query (q=ord*) merged the hit lists of every term it starts,
-- seconds for a short prefix at a million conversations. Prefix indexes
-- of 3 and 4 characters (the shortest prefix a search may ask for is 3,
-- conversation.SearchWords) make those one list each; FTS5 takes the
-- option only when the table is made, so the index is rebuilt, as
-- migration 0005 did (rows in ascending rowid order).
DROP TABLE search;
CREATE VIRTUAL TABLE search USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '3 4'
);

INSERT INTO search (rowid, body)
SELECT ((549755813887 - c.seq) << 24) | (m.seq & 16777215), parley_search_text(m.content)
FROM conversations c JOIN messages m ON m.seq BETWEEN c.seq << 24 AND (c.seq << 24) | 16777215
ORDER BY c.seq DESC, m.seq;

INSERT INTO search (rowid, body)
SELECT (549755813887 - seq) << 24, body FROM (
    SELECT seq, parley_search_text(coalesce(customer_name, '') || ' ' || coalesce(customer_phone, '') || ' ' ||
        coalesce(customer_email, '') || ' ' || coalesce(external_identifier, '')) AS body
    FROM conversations)
WHERE body != ''
ORDER BY seq DESC;
