-- Listing users in another order than by key (GET /api/v1/users?order=): each order is
-- a keyset on (value, key), served by an index on the same pair, so a page deep in the
-- listing costs what the first one does. Last activity orders users never active as 0,
-- through a generated column: an index on the expression would be scanned from one
-- end instead of searched for the cursor's (value, key). The email index with the key
-- also serves the lookup by email that users_email served.

-- +goose Up
ALTER TABLE users ADD COLUMN last_active_order BIGINT GENERATED ALWAYS AS (COALESCE(last_active_at, 0)) STORED;
CREATE INDEX users_created ON users (created_at, key);
CREATE INDEX users_last_active ON users (last_active_order, key);
CREATE INDEX users_email_key ON users (email_norm, key);
DROP INDEX users_email;

-- +goose Down
CREATE INDEX users_email ON users (email_norm);
DROP INDEX users_email_key;
DROP INDEX users_last_active;
DROP INDEX users_created;
ALTER TABLE users DROP COLUMN last_active_order;
