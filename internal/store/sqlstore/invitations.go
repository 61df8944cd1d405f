package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/mail"
)

// Stored invitation statuses. "replaced" is shown as Withdrawn: a newer invitation
// took its place.
const (
	invitationPending   = "pending"
	invitationAccepted  = "accepted"
	invitationReplaced  = "replaced"
	invitationWithdrawn = "withdrawn"
)

const msgIdempotencyKeyLength = "idempotency key must be at most 255 characters"

type invitationRow struct {
	id        string
	user      string
	status    string
	sendCount int
	sentAt    time.Time
	expiresAt time.Time
	// delivery is how its mail fared; nil when not read, or for an invitation
	// whose mail is not linked to it (sent before outbox.invitation_id existed).
	delivery *store.InvitationDelivery
}

const invitationColumns = "id, user_key, status, send_count, sent_at, expires_at"

func scanInvitation(row interface{ Scan(...any) error }) (invitationRow, error) {
	var r invitationRow
	var sent, expires int64
	err := row.Scan(&r.id, &r.user, &r.status, &r.sendCount, &sent, &expires)
	r.sentAt, r.expiresAt = fromMicros(sent), fromMicros(expires)
	return r, err
}

// state is the invitation's state as clients see it at now.
func (r invitationRow) state(now time.Time) store.InvitationState {
	switch r.status {
	case invitationAccepted:
		return store.InvitationAccepted
	case invitationReplaced, invitationWithdrawn:
		return store.InvitationWithdrawn
	}
	if !now.Before(r.expiresAt) {
		return store.InvitationExpired
	}
	return store.InvitationPending
}

func (r invitationRow) view(now time.Time) store.Invitation {
	sent, expires := r.sentAt, r.expiresAt
	return store.Invitation{State: r.state(now), SentAt: &sent, ExpiresAt: &expires, SendCount: r.sendCount, Delivery: r.delivery}
}

// SendInvitation sends a new invitation (replacing a pending one) through the outbox,
// or replays the one sent for the same idempotency key.
func (s *Store) SendInvitation(ctx context.Context, c store.Caller, key, idempotencyKey string) (store.Invitation, error) {
	if err := validateKey("key", key); err != nil {
		return store.Invitation{}, err
	}
	if len(idempotencyKey) > maxIdempotencyKey {
		return store.Invitation{}, store.Errorf(store.CodeInvalid, "idempotencyKey", msgIdempotencyKeyLength)
	}
	var out store.Invitation
	err := s.write(ctx, c, userTarget(key), func(ctx context.Context, t *writeTx) error {
		u, err := t.lockLiveUser(ctx, key)
		if err != nil {
			return err
		}
		if _, err := decideOwnership(u.ManagedBy, c.Manager, false); err != nil {
			return err
		}
		if idempotencyKey != "" {
			prev, err := scanInvitationDelivery(t.queryRow(ctx, "SELECT "+invitationDeliveryColumns+" FROM invitations i "+joinDelivery+
				" WHERE i.user_key = ? AND i.idempotency_key = ?", key, idempotencyKey))
			if err == nil {
				out = prev.view(t.now)
				out.Link = inviteLink(s.publicURL, linkToken(s.linkKey, prev.id))
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var sendCount int
		if err := t.queryRow(ctx, "SELECT COALESCE(MAX(send_count), 0) FROM invitations WHERE user_key = ?", key).Scan(&sendCount); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE invitations SET status = ?, ended_at = ? WHERE user_key = ? AND status = ?",
			invitationReplaced, micros(t.now), key, invitationPending); err != nil {
			return err
		}
		inv := invitationRow{id: randomID(16), user: key, status: invitationPending, sendCount: sendCount + 1,
			sentAt: t.now, expiresAt: t.now.Add(s.ttl), delivery: &store.InvitationDelivery{State: store.DeliveryQueued}}
		token := linkToken(s.linkKey, inv.id)
		if _, err := t.exec(ctx, "INSERT INTO invitations (id, user_key, token_hash, idempotency_key, status, send_count, sent_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			inv.id, key, tokenHash(token), idempotencyKey, inv.status, inv.sendCount, micros(inv.sentAt), micros(inv.expiresAt)); err != nil {
			return err
		}
		link := inviteLink(s.publicURL, token)
		if err := t.enqueueInvitationMail(ctx, u, inv.id, link, inv.expiresAt); err != nil {
			return err
		}
		t.record(auditEntry{action: store.ActionInvitationSent, target: userTarget(key), user: key,
			details: map[string]any{"sendCount": inv.sendCount, "expiresAt": inv.expiresAt.Format(time.RFC3339)}})
		out = inv.view(t.now)
		out.Link = link
		return nil
	})
	if err != nil {
		return store.Invitation{}, err
	}
	return out, nil
}

// enqueueInvitationMail renders the invitation email and writes it to the outbox in the
// invitation's transaction, linked to the invitation (invitationID) so that its
// delivery can be reported with it.
func (t *writeTx) enqueueInvitationMail(ctx context.Context, u userRow, invitationID, link string, expiresAt time.Time) error {
	access, info, _, err := t.s.resolveAccess(ctx, t, u.Key)
	if err != nil {
		return err
	}
	data := mail.InvitationData{
		To:          u.Email,
		DisplayName: u.DisplayName,
		Locale:      u.Locale,
		Agencies:    agencyNames(access, info),
		Link:        link,
		ExpiresAt:   expiresAt,
	}
	for _, a := range access {
		name := info[a.Environment].displayName
		if name == "" {
			name = a.Environment
		}
		roles := make([]string, len(a.Roles))
		for i, r := range a.Roles {
			roles[i] = string(r)
		}
		data.Environments = append(data.Environments, mail.EnvironmentRoles{Environment: name, Roles: roles})
	}
	slices.SortFunc(data.Environments, func(a, b mail.EnvironmentRoles) int { return cmp.Compare(a.Environment, b.Environment) })
	msg, err := mail.RenderInvitation(data)
	if err != nil {
		return err
	}
	messageID := "<" + randomID(16) + "@" + t.s.mailDomain + ">"
	_, err = t.exec(ctx, "INSERT INTO outbox (message_id, user_key, invitation_id, to_addr, subject, text_body, html_body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		messageID, u.Key, invitationID, u.Email, msg.Subject, msg.Text, msg.HTML, micros(t.now), micros(t.now))
	return err
}

// withdrawInvitations withdraws the user's pending invitation, if any (audited).
func (t *writeTx) withdrawInvitations(ctx context.Context, key string) error {
	n, err := t.execRows(ctx, "UPDATE invitations SET status = ?, ended_at = ? WHERE user_key = ? AND status = ?",
		invitationWithdrawn, micros(t.now), key, invitationPending)
	if err != nil || n == 0 {
		return err
	}
	t.record(auditEntry{action: store.ActionInvitationWithdrawn, target: userTarget(key), user: key})
	return nil
}

// GetInvitation returns the user's latest invitation, without its link, and how its
// mail fared.
func (s *Store) GetInvitation(ctx context.Context, key string) (store.Invitation, error) {
	var out store.Invitation
	err := s.read(ctx, func(q querier) error {
		if _, err := s.getUser(ctx, q, key); err != nil {
			return err
		}
		inv, err := scanInvitationDelivery(q.queryRow(ctx, "SELECT "+invitationDeliveryColumns+" FROM invitations i "+joinDelivery+
			" WHERE i.user_key = ? ORDER BY i.send_count DESC LIMIT 1", key))
		if errors.Is(err, sql.ErrNoRows) {
			out = store.Invitation{State: store.InvitationNotSent}
			return nil
		}
		if err != nil {
			return err
		}
		out = inv.view(s.now())
		return nil
	})
	return out, err
}

func gone() error { return store.Errorf(store.CodeInvitationGone, "", msgInvitationGone) }

func invitationNotFound() error { return store.Errorf(store.CodeNotFound, "", msgInvitationNotFound) }

// LookupInvitation returns what the invitation page shows for a link token.
func (s *Store) LookupInvitation(ctx context.Context, token string) (store.InvitationView, error) {
	var out store.InvitationView
	err := s.read(ctx, func(q querier) error {
		inv, err := scanInvitation(q.queryRow(ctx, "SELECT "+invitationColumns+" FROM invitations WHERE token_hash = ?", tokenHash(token)))
		if errors.Is(err, sql.ErrNoRows) {
			return invitationNotFound()
		}
		if err != nil {
			return err
		}
		if inv.state(s.now()) != store.InvitationPending {
			return gone()
		}
		u, err := s.getUser(ctx, q, inv.user)
		if err != nil {
			return err
		}
		access, info, _, err := s.resolveAccess(ctx, q, u.Key)
		if err != nil {
			return err
		}
		out = store.InvitationView{DisplayName: u.DisplayName, Agencies: nonNil(agencyNames(access, info)),
			State: store.InvitationPending, ExpiresAt: inv.expiresAt}
		return nil
	})
	return out, err
}

// AcceptInvitation accepts a pending invitation: it is used up and the user becomes
// Active. The accepting person is recorded as the actor "user/<key>".
func (s *Store) AcceptInvitation(ctx context.Context, token string) (store.User, error) {
	hash := tokenHash(token)
	var out store.User
	var userKey string
	if err := s.pool().queryRow(ctx, "SELECT user_key FROM invitations WHERE token_hash = ?", hash).Scan(&userKey); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return store.User{}, invitationNotFound()
		}
		return store.User{}, mapError(err)
	}
	err := s.write(ctx, store.Caller{Actor: userTarget(userKey)}, userTarget(userKey), func(ctx context.Context, t *writeTx) error {
		// The user row is locked first, as in every other write on a user.
		u, err := t.lockUser(ctx, userKey)
		if err != nil {
			return err
		}
		inv, err := scanInvitation(t.queryRow(ctx, "SELECT "+invitationColumns+" FROM invitations WHERE token_hash = ?", hash))
		if err != nil {
			return err
		}
		if inv.state(t.now) != store.InvitationPending || u.removed() {
			return gone()
		}
		if n, err := t.execRows(ctx, "UPDATE invitations SET status = ?, ended_at = ? WHERE id = ? AND status = ?",
			invitationAccepted, micros(t.now), inv.id, invitationPending); err != nil || n != 1 {
			return cmpErr(err, errLostRace)
		}
		lifecycle := lifecycleActive
		if _, err := t.exec(ctx, "UPDATE users SET lifecycle = ?, last_active_at = ? WHERE key = ?", lifecycle, micros(t.now), userKey); err != nil {
			return err
		}
		t.record(auditEntry{action: store.ActionInvitationAccepted, target: userTarget(userKey), user: userKey,
			details: map[string]any{"sendCount": inv.sendCount}})
		out = u.User
		now := t.now
		out.LastActiveAt = &now
		out.State = userState(lifecycle, u.Suspended)
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return out, nil
}
