-- Daily analytics per workspace × UTC day × assistant × conversation type
-- (day in days since 1970), maintained in the transaction of every create,
-- end and message append (conversation.ConversationActivity and
-- MessageActivity), so a report reads O(days × assistants × types) rows.
-- Deletes leave them as they are: analytics are a history of activity.
-- Conversations count as started on the day they were created and as
-- ended on the day they ended; messages on the day they were created.
CREATE TABLE analytics_days (
    workspace_id          text NOT NULL,
    day                   bigint NOT NULL,
    assistant_id          text NOT NULL,
    type                  text NOT NULL,
    conversations_started bigint NOT NULL DEFAULT 0,
    conversations_ended   bigint NOT NULL DEFAULT 0,
    user_messages         bigint NOT NULL DEFAULT 0,
    assistant_messages    bigint NOT NULL DEFAULT 0,
    operator_messages     bigint NOT NULL DEFAULT 0,
    system_messages       bigint NOT NULL DEFAULT 0,
    input_tokens          bigint NOT NULL DEFAULT 0,
    output_tokens         bigint NOT NULL DEFAULT 0,
    cached_input_tokens   bigint NOT NULL DEFAULT 0,
    reasoning_tokens      bigint NOT NULL DEFAULT 0,
    total_tokens          bigint NOT NULL DEFAULT 0,
    cost                  bigint NOT NULL DEFAULT 0, -- nano-USD
    unpriced_messages     bigint NOT NULL DEFAULT 0,
    latency_ms_sum        bigint NOT NULL DEFAULT 0,
    latency_count         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, day, assistant_id, type)
);

-- Backfill from the rows that exist (the history of deleted conversations
-- is gone before this migration). A message's conversation is the one
-- whose seq its seq carries in its high bits (seq >> 24).
INSERT INTO analytics_days (workspace_id, day, assistant_id, type, conversations_started, conversations_ended,
    user_messages, assistant_messages, operator_messages, system_messages,
    input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, total_tokens,
    cost, unpriced_messages, latency_ms_sum, latency_count)
SELECT workspace_id, day, assistant_id, type, sum(started), sum(ended), sum(u), sum(a), sum(o), sum(s),
       sum(it), sum(ot), sum(ct), sum(rt), sum(tt), sum(cost), sum(unpriced), sum(lat), sum(latn)
FROM (
    SELECT workspace_id, assistant_id, type, floor(extract(epoch FROM created_at) / 86400)::bigint AS day,
           1 AS started, 0 AS ended, 0 AS u, 0 AS a, 0 AS o, 0 AS s, 0::bigint AS it, 0::bigint AS ot,
           0::bigint AS ct, 0::bigint AS rt, 0::bigint AS tt, 0::bigint AS cost, 0 AS unpriced,
           0::bigint AS lat, 0 AS latn
    FROM conversations
    UNION ALL
    SELECT workspace_id, assistant_id, type, floor(extract(epoch FROM ended_at) / 86400)::bigint,
           0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM conversations WHERE status = 'ended' AND ended_at IS NOT NULL
    UNION ALL
    SELECT c.workspace_id, c.assistant_id, c.type, floor(extract(epoch FROM m.created_at) / 86400)::bigint,
           0, 0,
           (m.role = 'user')::int, (m.role = 'assistant')::int, (m.role = 'operator')::int,
           (m.role NOT IN ('user', 'assistant', 'operator'))::int,
           coalesce(m.input_tokens, 0), coalesce(m.output_tokens, 0), coalesce(m.cached_input_tokens, 0),
           coalesce(m.reasoning_tokens, 0), coalesce(m.total_tokens, 0), coalesce(m.cost, 0),
           (coalesce(m.model, '') <> '' AND m.cost IS NULL)::int,
           coalesce(m.latency_ms, 0), (m.latency_ms IS NOT NULL)::int
    FROM conversations c JOIN messages m ON m.seq BETWEEN c.seq << 24 AND (c.seq << 24) | 16777215
) rows
GROUP BY workspace_id, day, assistant_id, type;
