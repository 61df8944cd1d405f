-- An invitation's mail names its invitation, so that the store can tell whether the
-- invitation reached its user: invitation_id is the invitations.id the message
-- announces. Mail written before this migration has none (NULL): its invitation shows
-- no delivery.

-- +goose Up
ALTER TABLE outbox ADD COLUMN invitation_id TEXT;
-- The mail of an invitation (GetInvitation); an invitation sends one mail.
CREATE UNIQUE INDEX outbox_invitation ON outbox (invitation_id) WHERE invitation_id IS NOT NULL;
-- Dead-lettered invitation mail by user (ListUndeliverable): it holds only failed
-- messages, so it is empty, and the listing costs nothing, while no mail failed.
CREATE INDEX outbox_failed_user ON outbox (user_key, invitation_id) WHERE failed_at IS NOT NULL AND invitation_id IS NOT NULL;

-- +goose Down
DROP INDEX outbox_failed_user;
DROP INDEX outbox_invitation;
ALTER TABLE outbox DROP COLUMN invitation_id;
