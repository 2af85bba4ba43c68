-- The web widget. An assistant's identity secret is kept encrypted with
-- the instance key (package seal), never in its JSON settings, which the
-- API shows. widget_visitors finds a visitor's open conversation again on
-- the next page load (key "v:" + the visitor id of that browser) and a
-- verified user's on any device ("u:" + the user id the site vouched for).
ALTER TABLE assistants ADD COLUMN identity_secret text NOT NULL DEFAULT '';

CREATE TABLE widget_visitors (
    workspace_id    text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    assistant_id    text NOT NULL,
    visitor_key     text NOT NULL,
    conversation_id text NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, assistant_id, visitor_key)
);
