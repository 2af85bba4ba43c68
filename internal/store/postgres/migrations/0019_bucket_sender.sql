-- A count by WhatsApp sender walked the sender's conversations, a second
-- and more for a busy number at a million conversations. The day buckets
-- now count per sender too (the conversation's sender_phone; '' for
-- conversations of other types), so a sender filter, alone or with the
-- others, reads buckets like them. A conversation keeps the sender phone
-- it was opened with, so it never moves between senders' buckets.
ALTER TABLE conversation_buckets ADD COLUMN sender_phone text NOT NULL DEFAULT '';
ALTER TABLE conversation_buckets DROP CONSTRAINT conversation_buckets_pkey;
DELETE FROM conversation_buckets;
INSERT INTO conversation_buckets (workspace_id, assistant_id, type, status, day, sender_phone, n)
SELECT workspace_id, assistant_id, type, status,
       floor(extract(epoch FROM created_at) / 86400)::bigint, coalesce(sender_phone, ''), count(*)
FROM conversations GROUP BY 1, 2, 3, 4, 5, 6;
ALTER TABLE conversation_buckets ADD PRIMARY KEY (workspace_id, assistant_id, type, status, day, sender_phone);
CREATE INDEX conversation_buckets_sender ON conversation_buckets (workspace_id, sender_phone, day) WHERE sender_phone <> '';
