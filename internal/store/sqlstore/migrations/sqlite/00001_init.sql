-- The Studio user store, SQLite dialect. Times are Unix microseconds (UTC) so that both
-- dialects store, compare and hash them identically. Booleans are 0/1 integers.

-- +goose Up
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE agencies (
    key               TEXT PRIMARY KEY,
    display_name      TEXT NOT NULL,
    managed_by        TEXT NOT NULL DEFAULT '',
    -- 1 when the last change was made by a person (no manager) on a managed record:
    -- the manager's next change corrects drift.
    changed_by_person INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE environments (
    key               TEXT PRIMARY KEY,
    agency            TEXT NOT NULL REFERENCES agencies (key),
    display_name      TEXT NOT NULL,
    managed_by        TEXT NOT NULL DEFAULT '',
    changed_by_person INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX environments_agency ON environments (agency);

CREATE TABLE users (
    key               TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    email_norm        TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    type              TEXT NOT NULL,
    locale            TEXT NOT NULL,
    suspended         INTEGER NOT NULL,
    -- Invited, Active or Removed; Suspended is derived from the suspended flag.
    lifecycle         TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    last_active_at    INTEGER,
    managed_by        TEXT NOT NULL DEFAULT '',
    profile_by_person INTEGER NOT NULL DEFAULT 0,
    grants_by_person  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_email_live ON users (email_norm) WHERE lifecycle <> 'Removed';

-- One row per user and scope. roles is the sorted, comma-separated role list; an empty
-- list at environment scope is a block of the roles inherited from the agency.
CREATE TABLE grants (
    user_key        TEXT NOT NULL REFERENCES users (key),
    scope           TEXT NOT NULL,
    agency_key      TEXT REFERENCES agencies (key),
    environment_key TEXT REFERENCES environments (key),
    roles           TEXT NOT NULL,
    PRIMARY KEY (user_key, scope),
    CHECK ((agency_key IS NULL) <> (environment_key IS NULL))
);
CREATE INDEX grants_agency ON grants (agency_key) WHERE agency_key IS NOT NULL;
CREATE INDEX grants_environment ON grants (environment_key) WHERE environment_key IS NOT NULL;

-- Link tokens are never stored: token = base64url(HMAC(link key, id)); token_hash finds
-- the row from a link.
CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    user_key        TEXT NOT NULL REFERENCES users (key),
    token_hash      TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    send_count      INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    ended_at        INTEGER
);
CREATE INDEX invitations_user ON invitations (user_key, send_count);
CREATE UNIQUE INDEX invitations_idempotency ON invitations (user_key, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT NOT NULL UNIQUE,
    user_key        TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    completed_at    INTEGER,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE completed_at IS NULL;

-- Append-only, hash-chained audit log. user_key, agency_key and environment_key index
-- what an entry is about, for the filters of ListAudit.
CREATE TABLE audit (
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    on_behalf_of    TEXT NOT NULL,
    source          TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    details         TEXT NOT NULL,
    user_key        TEXT NOT NULL DEFAULT '',
    agency_key      TEXT NOT NULL DEFAULT '',
    environment_key TEXT NOT NULL DEFAULT '',
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX audit_user ON audit (user_key, seq) WHERE user_key <> '';
CREATE INDEX audit_agency ON audit (agency_key, seq) WHERE agency_key <> '';
CREATE INDEX audit_environment ON audit (environment_key, seq) WHERE environment_key <> '';

-- The chain's head: the last seq and hash. Appending locks it, which keeps seq gap-free
-- and ordered under concurrent writers.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- +goose StatementBegin
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_no_delete;
DROP TRIGGER audit_no_update;
DROP TABLE audit_head;
DROP TABLE audit;
DROP TABLE outbox;
DROP TABLE invitations;
DROP TABLE grants;
DROP TABLE users;
DROP TABLE environments;
DROP TABLE agencies;
DROP TABLE settings;
