-- Receipts (status webhooks) of an outbound message that arrive before the
-- send has recorded its wamid — Meta may report a message sent before its
-- send request has been answered — kept until the send records it, which
-- applies them. Receipts of messages Parley did not send (another tool on
-- the same number) are never taken and are dropped after a day.
CREATE TABLE whatsapp_early_receipts (
    workspace_id TEXT NOT NULL,
    wamid        TEXT NOT NULL,
    status       TEXT NOT NULL, -- the receipt, JSON
    received_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX whatsapp_early_receipts_wamid ON whatsapp_early_receipts (workspace_id, wamid);
CREATE INDEX whatsapp_early_receipts_received ON whatsapp_early_receipts (received_at);
