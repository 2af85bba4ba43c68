-- A count with a word and an assistant or a created range checked each of
-- the word's conversations on its row (or probed each of the filter's
-- conversations for the word): up to half a second at a million
-- conversations. conversation_terms now also keys each entry by the
-- conversation's assistant and creation day (UTC days since 1970, as the
-- day buckets), after the kind, so those counts read index ranges too:
-- whole days need no row, and only the entries of a range's partial first
-- and last days are checked on theirs.
--
-- Assistants get a small integer key, as workspaces did in 0018. A
-- conversation whose assistant is not one of its workspace's keeps 0.
ALTER TABLE assistants ADD COLUMN seq INTEGER;
UPDATE assistants SET seq = rowid;
CREATE UNIQUE INDEX assistants_seq ON assistants (seq);
-- The writes look the key up by id; this index answers without the row.
CREATE INDEX assistants_id_seq ON assistants (id, workspace_id, seq);
CREATE TRIGGER assistants_next_seq AFTER INSERT ON assistants WHEN new.seq IS NULL
BEGIN
    UPDATE assistants SET seq = (SELECT coalesce(max(seq), 0) + 1 FROM assistants) WHERE id = new.id;
END;

CREATE TABLE conversation_terms_new (
    workspace_seq    INTEGER NOT NULL,
    term             TEXT NOT NULL,
    assistant_seq    INTEGER NOT NULL,
    kind             INTEGER NOT NULL,
    day              INTEGER NOT NULL,
    conversation_seq INTEGER NOT NULL,
    PRIMARY KEY (workspace_seq, term, assistant_seq, kind, day, conversation_seq)
) STRICT, WITHOUT ROWID;

-- Each entry's new key parts come from a small table of the
-- conversations' keys (a few bytes a conversation, so it stays in the
-- cache while the entries are read in their old order); the entries of
-- one term are sorted into the new order and written front to back.
CREATE TEMP TABLE conversation_keys (
    seq           INTEGER PRIMARY KEY,
    assistant_seq INTEGER NOT NULL,
    day           INTEGER NOT NULL
);
INSERT INTO conversation_keys (seq, assistant_seq, day)
SELECT c.seq, coalesce(a.seq, 0),
       CASE WHEN c.created_at >= 0 THEN c.created_at / 86400000 ELSE (c.created_at - 86399999) / 86400000 END
FROM conversations c
LEFT JOIN assistants a ON a.id = c.assistant_id AND a.workspace_id = c.workspace_id;

INSERT INTO conversation_terms_new (workspace_seq, term, assistant_seq, kind, day, conversation_seq)
SELECT t.workspace_seq, t.term, k.assistant_seq, t.kind, k.day, t.conversation_seq
FROM conversation_terms t JOIN conversation_keys k ON k.seq = t.conversation_seq
ORDER BY 1, 2, 3, 4, 5, 6;

DROP TABLE conversation_keys;
DROP TABLE conversation_terms;
ALTER TABLE conversation_terms_new RENAME TO conversation_terms;
