package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Lifecycle values of the users table; Suspended is derived from the suspended flag.
const (
	lifecycleInvited = string(store.UserInvited)
	lifecycleActive  = string(store.UserActive)
	lifecycleRemoved = string(store.UserRemoved)
)

type userRow struct {
	store.User
	lifecycle       string
	profileByPerson bool
	grantsByPerson  bool
}

func (u userRow) removed() bool { return u.lifecycle == lifecycleRemoved }

const userColumns = "key, email, display_name, type, locale, suspended, lifecycle, created_at, last_active_at, managed_by, profile_by_person, grants_by_person"

func scanUser(row interface{ Scan(...any) error }) (userRow, error) {
	var u userRow
	var created int64
	var lastActive sql.NullInt64
	var typ string
	err := row.Scan(&u.Key, &u.Email, &u.DisplayName, &typ, &u.Locale, &u.Suspended, &u.lifecycle, &created,
		&lastActive, &u.ManagedBy, &u.profileByPerson, &u.grantsByPerson)
	u.Type = cascade.UserType(typ)
	u.CreatedAt = fromMicros(created)
	u.LastActiveAt = fromNullMicros(lastActive)
	u.State = userState(u.lifecycle, u.Suspended)
	return u, err
}

func userState(lifecycle string, suspended bool) store.UserState {
	switch {
	case lifecycle == lifecycleRemoved:
		return store.UserRemoved
	case suspended:
		return store.UserSuspended
	}
	return store.UserState(lifecycle)
}

func notFoundUser() error { return store.Errorf(store.CodeNotFound, "", msgUserNotFound) }

// lockUser reads a user and locks its row until the transaction ends.
func (t *writeTx) lockUser(ctx context.Context, key string) (userRow, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE key = ?"+t.forUpdate(), key))
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFoundUser()
	}
	return u, err
}

// lockLiveUser is lockUser for writes other than PutUser: they refuse removed users.
func (t *writeTx) lockLiveUser(ctx context.Context, key string) (userRow, error) {
	u, err := t.lockUser(ctx, key)
	if err == nil && u.removed() {
		return u, store.Errorf(store.CodeUserRemoved, "", msgUserRemoved)
	}
	return u, err
}

func (s *Store) getUser(ctx context.Context, q querier, key string) (userRow, error) {
	u, err := scanUser(q.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFoundUser()
	}
	return u, err
}

// GetUser returns a user.
func (s *Store) GetUser(ctx context.Context, key string) (store.User, error) {
	u, err := s.getUser(ctx, s.pool(), key)
	if err != nil {
		return store.User{}, mapError(err)
	}
	return u.User, nil
}

// emailFree fails with CodeEmailInUse when a live user other than key has email.
func (t *writeTx) emailFree(ctx context.Context, email, key string) error {
	var other string
	// The lifecycle is a literal, not a parameter, so that SQLite can use the partial
	// index users_email_live (WHERE lifecycle <> 'Removed') instead of scanning users.
	err := t.queryRow(ctx, "SELECT key FROM users WHERE email_norm = ? AND lifecycle <> '"+lifecycleRemoved+"' AND key <> ?",
		normEmail(email), key).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return store.Errorf(store.CodeEmailInUse, "email", msgEmailInUse)
}

// normEmail is the form email uniqueness compares (store.EmailIdentity): addresses
// that differ only in case, Unicode normalisation form or the encoding of the domain
// (Unicode or Punycode) reach the same person.
func normEmail(email string) string { return store.EmailIdentity(email) }

// changedFields lists the profile fields that differ, in a fixed order.
func changedFields(cur, spec store.UserSpec) []string {
	var f []string
	if cur.Email != spec.Email {
		f = append(f, "email")
	}
	if cur.DisplayName != spec.DisplayName {
		f = append(f, "displayName")
	}
	if cur.Type != spec.Type {
		f = append(f, "type")
	}
	if cur.Locale != spec.Locale {
		f = append(f, "locale")
	}
	if cur.Suspended != spec.Suspended {
		f = append(f, "suspended")
	}
	return f
}

// PutUser creates, re-creates (after removal) or updates a user.
func (s *Store) PutUser(ctx context.Context, c store.Caller, key string, spec store.UserSpec) (store.User, store.Outcome, error) {
	if err := validateKey("key", key); err != nil {
		return store.User{}, "", err
	}
	spec, err := normalizeUserSpec(spec)
	if err != nil {
		return store.User{}, "", err
	}
	var out store.User
	var outcome store.Outcome
	err = s.write(ctx, c, userTarget(key), func(ctx context.Context, t *writeTx) error {
		cur, err := t.lockUser(ctx, key)
		switch {
		case store.IsNotFound(err):
			out, outcome = newUser(key, spec, c.Manager, t), store.Created
			if err := t.emailFree(ctx, spec.Email, key); err != nil {
				return err
			}
			if _, err := t.exec(ctx, "INSERT INTO users (key, email, email_norm, display_name, type, locale, suspended, lifecycle, created_at, updated_at, managed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				key, spec.Email, normEmail(spec.Email), spec.DisplayName, string(spec.Type), spec.Locale, spec.Suspended, lifecycleInvited,
				micros(t.now), micros(t.now), c.Manager); err != nil {
				return err
			}
			t.record(auditEntry{action: store.ActionUserCreated, target: userTarget(key), user: key,
				details: map[string]any{"type": string(spec.Type), "suspended": spec.Suspended}})
			return nil
		case err != nil:
			return err
		}
		own, err := decideOwnership(cur.ManagedBy, c.Manager, true)
		if err != nil {
			return err
		}
		if cur.removed() {
			out, outcome = newUser(key, spec, own.managedBy, t), store.Created
			if err := t.emailFree(ctx, spec.Email, key); err != nil {
				return err
			}
			if _, err := t.exec(ctx, "UPDATE users SET email = ?, email_norm = ?, display_name = ?, type = ?, locale = ?, suspended = ?, lifecycle = ?, created_at = ?, updated_at = ?, last_active_at = NULL, managed_by = ?, profile_by_person = ?, grants_by_person = ? WHERE key = ?",
				spec.Email, normEmail(spec.Email), spec.DisplayName, string(spec.Type), spec.Locale, spec.Suspended, lifecycleInvited,
				micros(t.now), micros(t.now), own.managedBy, false, false, key); err != nil {
				return err
			}
			t.record(auditEntry{action: store.ActionUserCreated, target: userTarget(key), user: key,
				details: map[string]any{"type": string(spec.Type), "suspended": spec.Suspended, "recreated": true}})
			return nil
		}
		fields := changedFields(cur.Spec(), spec)
		if len(fields) == 0 && !own.adopted {
			out, outcome = cur.User, store.Unchanged
			return nil
		}
		if slices.Contains(fields, "email") {
			if err := t.emailFree(ctx, spec.Email, key); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, "UPDATE users SET email = ?, email_norm = ?, display_name = ?, type = ?, locale = ?, suspended = ?, updated_at = ?, managed_by = ?, profile_by_person = ? WHERE key = ?",
			spec.Email, normEmail(spec.Email), spec.DisplayName, string(spec.Type), spec.Locale, spec.Suspended,
			micros(t.now), own.managedBy, own.personFlag(), key); err != nil {
			return err
		}
		out, outcome = cur.User, store.Updated
		out.Email, out.DisplayName, out.Type, out.Locale, out.Suspended = spec.Email, spec.DisplayName, spec.Type, spec.Locale, spec.Suspended
		out.ManagedBy = own.managedBy
		out.State = userState(cur.lifecycle, spec.Suspended)
		t.recordUserUpdate(key, cur, spec, fields, own)
		return nil
	})
	if err != nil {
		return store.User{}, "", err
	}
	return out, outcome, nil
}

func newUser(key string, spec store.UserSpec, managedBy string, t *writeTx) store.User {
	return store.User{
		Key: key, Email: spec.Email, DisplayName: spec.DisplayName, Type: spec.Type, Locale: spec.Locale,
		Suspended: spec.Suspended, State: userState(lifecycleInvited, spec.Suspended), CreatedAt: t.now, ManagedBy: managedBy,
	}
}

// recordUserUpdate audits a change of a live user's profile: drift.corrected when a
// manager undoes a person's change, user.adopted when a manager takes the user over,
// and user.suspended (suspension starts) or user.updated for the change itself. Field
// names are recorded, never their values (they are personal data).
func (t *writeTx) recordUserUpdate(key string, cur userRow, spec store.UserSpec, fields []string, own ownership) {
	entry := func(action string, details map[string]any) auditEntry {
		return auditEntry{action: action, target: userTarget(key), user: key, details: details}
	}
	if len(fields) > 0 && own.correctsDrift(cur.profileByPerson) {
		t.record(entry(store.ActionDriftCorrected, map[string]any{"kind": "user", "fields": fields}))
	}
	if own.adopted {
		t.record(entry(store.ActionUserAdopted, map[string]any{"manager": own.managedBy}))
	}
	switch {
	case len(fields) == 0:
	case spec.Suspended && !cur.Suspended:
		t.record(entry(store.ActionUserSuspended, map[string]any{"fields": fields}))
	default:
		t.record(entry(store.ActionUserUpdated, map[string]any{"fields": fields}))
	}
}

// RemoveUser withdraws the user's pending invitation, revokes all its grants and marks
// it Removed, auditing each step. Removing a removed user does nothing.
func (s *Store) RemoveUser(ctx context.Context, c store.Caller, key string) (store.User, error) {
	if err := validateKey("key", key); err != nil {
		return store.User{}, err
	}
	var out store.User
	err := s.write(ctx, c, userTarget(key), func(ctx context.Context, t *writeTx) error {
		cur, err := t.lockUser(ctx, key)
		if err != nil {
			return err
		}
		out = cur.User
		if cur.removed() {
			return nil
		}
		if _, err := decideOwnership(cur.ManagedBy, c.Manager, false); err != nil {
			return err
		}
		if err := t.withdrawInvitations(ctx, key); err != nil {
			return err
		}
		rows, err := t.query(ctx, grantSelect+"WHERE g.user_key = ?", key)
		if err != nil {
			return err
		}
		stored, err := scanGrants(rows)
		if err != nil {
			return err
		}
		if len(stored) > 0 {
			if _, err := t.exec(ctx, "DELETE FROM grants WHERE user_key = ?", key); err != nil {
				return err
			}
			t.recordRevoked(stored)
		}
		if _, err := t.exec(ctx, "UPDATE users SET lifecycle = ?, updated_at = ?, profile_by_person = ?, grants_by_person = ? WHERE key = ?",
			lifecycleRemoved, micros(t.now), false, false, key); err != nil {
			return err
		}
		t.record(auditEntry{action: store.ActionUserRemoved, target: userTarget(key), user: key})
		out.State = store.UserRemoved
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return out, nil
}

// RecordActivity sets lastActiveAt; an Invited user becomes Active (audited
// user.activated). Plain activity is not audited: it is not a change of access.
func (s *Store) RecordActivity(ctx context.Context, c store.Caller, key string) (store.User, error) {
	if err := validateKey("key", key); err != nil {
		return store.User{}, err
	}
	var out store.User
	err := s.write(ctx, c, userTarget(key), func(ctx context.Context, t *writeTx) error {
		cur, err := t.lockLiveUser(ctx, key)
		if err != nil {
			return err
		}
		if _, err := decideOwnership(cur.ManagedBy, c.Manager, false); err != nil {
			return err
		}
		lifecycle := cur.lifecycle
		if lifecycle == lifecycleInvited {
			lifecycle = lifecycleActive
			t.record(auditEntry{action: store.ActionUserActivated, target: userTarget(key), user: key})
		}
		if _, err := t.exec(ctx, "UPDATE users SET last_active_at = ?, lifecycle = ? WHERE key = ?", micros(t.now), lifecycle, key); err != nil {
			return err
		}
		out = cur.User
		now := t.now
		out.LastActiveAt = &now
		out.State = userState(lifecycle, cur.Suspended)
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return out, nil
}
