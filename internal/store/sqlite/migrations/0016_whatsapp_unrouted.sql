-- Unrouted WhatsApp webhook changes become inspectable through the API:
-- each gets a public id (unr_…), the WABA it came from (entry[].id) and,
-- when Parley knows it (a sender whose assistant is gone), its workspace;
-- a workspace sees the changes of its own senders' WABAs. Rows kept
-- before this have no WABA and stay out of every workspace's list.
CREATE TABLE whatsapp_unrouted_new (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT,
    waba_id         TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    reason          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    received_at     INTEGER NOT NULL
) STRICT;
INSERT INTO whatsapp_unrouted_new (id, workspace_id, waba_id, phone_number_id, reason, payload, received_at)
    SELECT 'unr_' || printf('%026d', id), NULL, '', phone_number_id, 'unknown_number', payload, received_at
    FROM whatsapp_unrouted;
DROP TABLE whatsapp_unrouted;
ALTER TABLE whatsapp_unrouted_new RENAME TO whatsapp_unrouted;
CREATE INDEX whatsapp_unrouted_waba ON whatsapp_unrouted (waba_id, id);
CREATE INDEX whatsapp_unrouted_workspace ON whatsapp_unrouted (workspace_id, id) WHERE workspace_id IS NOT NULL;
