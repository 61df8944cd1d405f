-- Listing the audit entries of one actor (GET /api/v1/audit?actor=), in either
-- direction, through an index rather than a walk of the whole log.

-- +goose Up
CREATE INDEX audit_actor ON audit (actor, seq);

-- +goose Down
DROP INDEX audit_actor;
