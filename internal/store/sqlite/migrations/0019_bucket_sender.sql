-- A count by WhatsApp sender walked the sender's conversations, a second
-- and more for a busy number at a million conversations. The day buckets
-- now count per sender too (the conversation's sender_phone; '' for
-- conversations of other types), so a sender filter, alone or with the
-- others, reads buckets like them. A conversation keeps the sender phone
-- it was opened with, so it never moves between senders' buckets.
CREATE TABLE conversation_buckets_new (
    workspace_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    type         TEXT NOT NULL,
    status       TEXT NOT NULL,
    day          INTEGER NOT NULL,
    sender_phone TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, assistant_id, type, status, day, sender_phone)
) STRICT, WITHOUT ROWID;

INSERT INTO conversation_buckets_new (workspace_id, assistant_id, type, status, day, sender_phone, n)
SELECT workspace_id, assistant_id, type, status,
       CASE WHEN created_at >= 0 THEN created_at / 86400000 ELSE (created_at - 86399999) / 86400000 END,
       coalesce(sender_phone, ''), count(*)
FROM conversations GROUP BY 1, 2, 3, 4, 5, 6;

DROP TABLE conversation_buckets;
ALTER TABLE conversation_buckets_new RENAME TO conversation_buckets;
CREATE INDEX conversation_buckets_day ON conversation_buckets (workspace_id, day);
CREATE INDEX conversation_buckets_sender ON conversation_buckets (workspace_id, sender_phone, day) WHERE sender_phone <> '';
