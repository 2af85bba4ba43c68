-- What providers report beyond input/output tokens: reasoning tokens (part
-- of output), why a reply ended, and the cost the provider itself reported.
ALTER TABLE messages ADD COLUMN reasoning_tokens bigint;
ALTER TABLE messages ADD COLUMN finish_reason text;
ALTER TABLE messages ADD COLUMN provider_cost bigint;
ALTER TABLE conversations ADD COLUMN reasoning_tokens bigint NOT NULL DEFAULT 0;
