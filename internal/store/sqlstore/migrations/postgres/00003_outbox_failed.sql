-- A dead-lettered mail gets a state of its own: failed_at (Unix microseconds) is set
-- when the worker gives up on it. A failed message is never claimed again; its row
-- stays, with its attempts and last error, and without its recipient and bodies.

-- +goose Up
ALTER TABLE outbox ADD COLUMN failed_at BIGINT;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE completed_at IS NULL AND failed_at IS NULL;

-- +goose Down
-- The old schema has no failed state: a failed message is kept out of the queue as
-- completed (its bodies are already gone; last_error still says why).
UPDATE outbox SET completed_at = failed_at, claimed_until = 0 WHERE failed_at IS NOT NULL AND completed_at IS NULL;
DROP INDEX outbox_due;
ALTER TABLE outbox DROP COLUMN failed_at;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE completed_at IS NULL;
