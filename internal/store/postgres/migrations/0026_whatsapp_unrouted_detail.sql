-- Why a change was kept for inspection beyond its reason: the parts of an
-- "unreadable" change that could not be read.
ALTER TABLE whatsapp_unrouted ADD COLUMN detail text NOT NULL DEFAULT '';
