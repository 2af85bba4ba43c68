-- Why a change was kept for inspection beyond its reason (the parts of an
-- "unreadable" change that could not be read), and a digest of the kept
-- change (its reason and payload), so that Meta's redelivery of the same
-- change keeps it once.
ALTER TABLE whatsapp_unrouted ADD COLUMN detail text NOT NULL DEFAULT '';
ALTER TABLE whatsapp_unrouted ADD COLUMN digest text;
CREATE UNIQUE INDEX whatsapp_unrouted_digest ON whatsapp_unrouted (digest);
