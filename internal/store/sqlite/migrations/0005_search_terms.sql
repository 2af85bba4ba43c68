-- Search indexes the terms conversation.SearchTerms makes (CJK bigrams,
-- "ß" as "ss", Latin accents dropped), written by Go as space-separated
-- text, instead of raw text split by the tokenizer alone. This rebuilds
-- the index of existing rows with parley_search_text, the same Go
-- function, which the store registers with the driver. Each statement
-- writes rows in ascending rowid order (conversations newest first, a
-- conversation's messages in order), because FTS5 writes its pending
-- terms out whenever a rowid goes backwards.
INSERT INTO search (search) VALUES ('delete-all');

INSERT INTO search (rowid, body)
SELECT ((549755813887 - c.seq) << 24) | (m.seq & 16777215), parley_search_text(m.content)
FROM conversations c JOIN messages m ON m.seq BETWEEN c.seq << 24 AND (c.seq << 24) | 16777215
ORDER BY c.seq DESC, m.seq;

INSERT INTO search (rowid, body)
SELECT (549755813887 - seq) << 24, body FROM (
    SELECT seq, parley_search_text(coalesce(customer_name, '') || ' ' || coalesce(customer_phone, '') || ' ' ||
        coalesce(customer_email, '') || ' ' || coalesce(external_identifier, '')) AS body
    FROM conversations)
WHERE body != ''
ORDER BY seq DESC;
