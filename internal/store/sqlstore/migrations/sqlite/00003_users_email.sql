-- Listing users by email (GET /api/v1/users?email=) includes removed users, which the
-- unique index users_email_live leaves out: a plain index serves it.

-- +goose Up
CREATE INDEX users_email ON users (email_norm);

-- +goose Down
DROP INDEX users_email;
