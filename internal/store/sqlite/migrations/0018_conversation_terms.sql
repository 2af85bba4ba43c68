-- Counting the conversations that match a word walked the full-text
-- index, which holds one entry per message: a common word cost several
-- hits per counted conversation, hundreds of milliseconds at the count's
-- bound. conversation_terms holds each (conversation, term) once, with the
-- conversation's type and status (the filters a dashboard sets most)
-- packed into a kind (store.TermKind: the type's position in
-- conversation.Types times two, plus one when ended), so a count reads one
-- index entry per conversation counted. Its terms are those
-- conversation.SearchTerms makes of the messages and customer fields; the
-- store keeps them with every write.
--
-- Workspaces get a small integer key for it: their text ids would make
-- most of every row.
ALTER TABLE workspaces ADD COLUMN seq INTEGER;
UPDATE workspaces SET seq = rowid;
CREATE UNIQUE INDEX workspaces_seq ON workspaces (seq);
-- New workspaces take the next seq (one writer makes max + 1 safe).
CREATE TRIGGER workspaces_next_seq AFTER INSERT ON workspaces WHEN new.seq IS NULL
BEGIN
    UPDATE workspaces SET seq = (SELECT coalesce(max(seq), 0) + 1 FROM workspaces) WHERE id = new.id;
END;

CREATE TABLE conversation_terms (
    workspace_seq    INTEGER NOT NULL,
    term             TEXT NOT NULL,
    kind             INTEGER NOT NULL,
    conversation_seq INTEGER NOT NULL,
    PRIMARY KEY (workspace_seq, term, kind, conversation_seq)
) STRICT, WITHOUT ROWID;

-- The backfill computes the terms with the Go function the writes use
-- (parley_search_terms: a JSON array of a text's distinct terms), sorted
-- into the key's order so the table is written front to back.
INSERT OR IGNORE INTO conversation_terms (workspace_seq, term, kind, conversation_seq)
SELECT w.seq, j.value, (CASE c.type WHEN 'test' THEN 0 WHEN 'widget' THEN 2 WHEN 'whatsapp' THEN 4 WHEN 'api' THEN 6 END
    + CASE WHEN c.status = 'ended' THEN 1 ELSE 0 END), c.seq
FROM conversations c
JOIN workspaces w ON w.id = c.workspace_id
JOIN messages m ON m.seq BETWEEN c.seq << 24 AND (c.seq << 24) | 16777215
JOIN json_each(parley_search_terms(m.content)) j
ORDER BY 1, 2, 3, 4;

INSERT OR IGNORE INTO conversation_terms (workspace_seq, term, kind, conversation_seq)
SELECT w.seq, j.value, (CASE c.type WHEN 'test' THEN 0 WHEN 'widget' THEN 2 WHEN 'whatsapp' THEN 4 WHEN 'api' THEN 6 END
    + CASE WHEN c.status = 'ended' THEN 1 ELSE 0 END), c.seq
FROM conversations c
JOIN workspaces w ON w.id = c.workspace_id
JOIN json_each(parley_search_terms(coalesce(c.customer_name, '') || ' ' || coalesce(c.customer_phone, '') || ' ' ||
    coalesce(c.customer_email, '') || ' ' || coalesce(c.external_identifier, ''))) j
ORDER BY 1, 2, 3, 4;
