-- A count by status alone, or over a month or more, summed every day
-- bucket of its range: tens of thousands of rows at a million
-- conversations. The month buckets count the same conversations per UTC
-- month (month: the day number, as in conversation_buckets, of the month's
-- first day), so a count reads the whole months of its range here and at
-- most the days of its first and last months from the day buckets.
CREATE TABLE conversation_months (
    workspace_id text NOT NULL,
    assistant_id text NOT NULL,
    type         text NOT NULL,
    status       text NOT NULL,
    month        bigint NOT NULL,
    sender_phone text NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (workspace_id, assistant_id, type, status, month, sender_phone)
);

CREATE INDEX conversation_months_month ON conversation_months (workspace_id, month);
CREATE INDEX conversation_months_sender ON conversation_months (workspace_id, sender_phone, month) WHERE sender_phone <> '';

INSERT INTO conversation_months (workspace_id, assistant_id, type, status, month, sender_phone, n)
SELECT workspace_id, assistant_id, type, status,
       make_date(extract(year FROM DATE '1970-01-01' + day::int)::int,
                 extract(month FROM DATE '1970-01-01' + day::int)::int, 1) - DATE '1970-01-01',
       sender_phone, sum(n)
FROM conversation_buckets GROUP BY 1, 2, 3, 4, 5, 6;
