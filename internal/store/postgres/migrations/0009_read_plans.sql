-- The list API lets callers combine assistant, status and type. With an
-- index on one of them only, a small assistant's ended conversations are
-- found by walking all of that assistant's (or every ended) conversation;
-- these seek both filters and read in (created_at, seq) order.
CREATE INDEX conversations_assistant_status ON conversations (workspace_id, assistant_id, status, created_at, seq);
CREATE INDEX conversations_assistant_type ON conversations (workspace_id, assistant_id, type, created_at, seq);
CREATE INDEX conversations_type_status ON conversations (workspace_id, type, status, created_at, seq);
