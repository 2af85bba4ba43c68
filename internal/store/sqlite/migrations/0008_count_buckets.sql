-- Conversation counters per assistant × type × status × UTC day (day =
-- created_at in days since 1970), maintained in the same transaction as
-- every create, end and delete (conversation.CountChange), so a count
-- with any combination of those filters reads buckets, not rows.
CREATE TABLE conversation_buckets (
    workspace_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    type         TEXT NOT NULL,
    status       TEXT NOT NULL,
    day          INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, assistant_id, type, status, day)
) STRICT, WITHOUT ROWID;
CREATE INDEX conversation_buckets_day ON conversation_buckets (workspace_id, day);

INSERT INTO conversation_buckets (workspace_id, assistant_id, type, status, day, n)
SELECT workspace_id, assistant_id, type, status,
       CASE WHEN created_at >= 0 THEN created_at / 86400000 ELSE (created_at - 86399999) / 86400000 END, count(*)
FROM conversations GROUP BY 1, 2, 3, 4, 5;
