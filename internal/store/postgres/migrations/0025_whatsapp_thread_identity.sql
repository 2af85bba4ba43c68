-- A thread's former phone and user id, each with when it was given up
-- (the customer's clock: the time of the message or notice that changed
-- it), so that a message sent before a change of number or user id and
-- delivered after it still finds its thread and does not undo the change.
ALTER TABLE whatsapp_threads ADD COLUMN former_phone text;
ALTER TABLE whatsapp_threads ADD COLUMN phone_changed_at timestamptz;
ALTER TABLE whatsapp_threads ADD COLUMN former_user_id text;
ALTER TABLE whatsapp_threads ADD COLUMN user_id_changed_at timestamptz;
CREATE INDEX whatsapp_threads_former_phone ON whatsapp_threads (sender_id, former_phone, phone_changed_at) WHERE former_phone IS NOT NULL;
CREATE INDEX whatsapp_threads_former_user ON whatsapp_threads (sender_id, former_user_id, user_id_changed_at) WHERE former_user_id IS NOT NULL;
