-- Model prices: one row per workspace, pattern and effective_from. Two
-- such rows made the price of a reply depend on list order. Of existing
-- duplicates the oldest row (lowest id) was the one applied, so the others
-- never priced anything and are removed.
DELETE FROM model_prices WHERE EXISTS (
    SELECT 1 FROM model_prices o
    WHERE o.workspace_id = model_prices.workspace_id AND o.model_pattern = model_prices.model_pattern
      AND o.effective_from = model_prices.effective_from AND o.id < model_prices.id);
DROP INDEX model_prices_workspace;
CREATE UNIQUE INDEX model_prices_pattern_from ON model_prices (workspace_id, model_pattern, effective_from);

-- API keys: when each was last used (updated at most once a minute per key).
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
