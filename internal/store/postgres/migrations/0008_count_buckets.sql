-- Conversation counters per assistant × type × status × UTC day (day =
-- created_at in days since 1970), maintained in the same transaction as
-- every create, end and delete (conversation.CountChange), so a count
-- with any combination of those filters reads buckets, not rows.
CREATE TABLE conversation_buckets (
    workspace_id text NOT NULL,
    assistant_id text NOT NULL,
    type         text NOT NULL,
    status       text NOT NULL,
    day          bigint NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (workspace_id, assistant_id, type, status, day)
);
CREATE INDEX conversation_buckets_day ON conversation_buckets (workspace_id, day);

INSERT INTO conversation_buckets (workspace_id, assistant_id, type, status, day, n)
SELECT workspace_id, assistant_id, type, status,
       floor(extract(epoch FROM created_at) / 86400)::bigint, count(*)
FROM conversations GROUP BY 1, 2, 3, 4, 5;
