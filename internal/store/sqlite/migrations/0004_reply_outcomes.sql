-- What providers report beyond input/output tokens: reasoning tokens (part
-- of output), why a reply ended, and the cost the provider itself reported.
ALTER TABLE messages ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE messages ADD COLUMN finish_reason TEXT;
ALTER TABLE messages ADD COLUMN provider_cost INTEGER;
ALTER TABLE conversations ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
