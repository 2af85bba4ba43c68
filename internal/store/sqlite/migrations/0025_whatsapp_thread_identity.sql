-- When a thread's identifiers last changed (the customer's clock: the
-- time of the message or notice that changed them) and what they were
-- before, so that a message sent before a change of number or user id and
-- delivered after it still finds its thread and does not undo the change.
ALTER TABLE whatsapp_threads ADD COLUMN identified_at INTEGER;
ALTER TABLE whatsapp_threads ADD COLUMN former_phone TEXT;
ALTER TABLE whatsapp_threads ADD COLUMN former_user_id TEXT;
CREATE INDEX whatsapp_threads_former_phone ON whatsapp_threads (sender_id, former_phone) WHERE former_phone IS NOT NULL;
CREATE INDEX whatsapp_threads_former_user ON whatsapp_threads (sender_id, former_user_id) WHERE former_user_id IS NOT NULL;
