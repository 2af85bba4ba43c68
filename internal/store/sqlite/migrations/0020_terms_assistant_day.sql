-- A count with a word and an assistant, a WhatsApp sender or a created
-- range checked each of the word's conversations on its row (or probed
-- each of the filter's conversations for the word): up to a second and a
-- half at a million conversations. conversation_terms now also keys each
-- entry by the conversation's source (its assistant and WhatsApp sender)
-- and creation day (UTC days since 1970, as the day buckets), after the
-- kind, so those counts read index ranges too: whole days need no row,
-- and only the entries of a range's partial first and last days are
-- checked on theirs.
--
-- A source is one (assistant, sender phone) pair of a workspace ('' for
-- conversations of other types than WhatsApp), with a small integer key:
-- a workspace has a few, and a count reads the ranges of those its
-- filter names. A conversation's assistant and sender never change.
CREATE TABLE conversation_sources (
    seq          INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    sender_phone TEXT NOT NULL,
    UNIQUE (workspace_id, assistant_id, sender_phone)
) STRICT;
INSERT INTO conversation_sources (workspace_id, assistant_id, sender_phone)
SELECT DISTINCT workspace_id, assistant_id, coalesce(sender_phone, '') FROM conversations ORDER BY 1, 2, 3;

CREATE TABLE conversation_terms_new (
    workspace_seq    INTEGER NOT NULL,
    term             TEXT NOT NULL,
    source_seq       INTEGER NOT NULL,
    kind             INTEGER NOT NULL,
    day              INTEGER NOT NULL,
    conversation_seq INTEGER NOT NULL,
    PRIMARY KEY (workspace_seq, term, source_seq, kind, day, conversation_seq)
) STRICT, WITHOUT ROWID;

-- Each entry's new key parts come from a small table of the
-- conversations' keys (a few bytes a conversation, so it stays in the
-- cache while the entries are read in their old order); the entries of
-- one term are sorted into the new order and written front to back.
CREATE TEMP TABLE conversation_keys (
    seq        INTEGER PRIMARY KEY,
    source_seq INTEGER NOT NULL,
    day        INTEGER NOT NULL
);
INSERT INTO conversation_keys (seq, source_seq, day)
SELECT c.seq, s.seq,
       CASE WHEN c.created_at >= 0 THEN c.created_at / 86400000 ELSE (c.created_at - 86399999) / 86400000 END
FROM conversations c
JOIN conversation_sources s
  ON s.workspace_id = c.workspace_id AND s.assistant_id = c.assistant_id AND s.sender_phone = coalesce(c.sender_phone, '');

INSERT INTO conversation_terms_new (workspace_seq, term, source_seq, kind, day, conversation_seq)
SELECT t.workspace_seq, t.term, k.source_seq, t.kind, k.day, t.conversation_seq
FROM conversation_terms t JOIN conversation_keys k ON k.seq = t.conversation_seq
ORDER BY 1, 2, 3, 4, 5, 6;

DROP TABLE conversation_keys;
DROP TABLE conversation_terms;
ALTER TABLE conversation_terms_new RENAME TO conversation_terms;
