package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/studio-operator/studio-operator/internal/store"
)

type environmentRow struct {
	store.Environment
	changedByPerson bool
}

const environmentColumns = "key, agency, display_name, managed_by, changed_by_person, created_at, updated_at"

func scanEnvironment(row interface{ Scan(...any) error }) (environmentRow, error) {
	var e environmentRow
	var created, updated int64
	err := row.Scan(&e.Key, &e.Agency, &e.DisplayName, &e.ManagedBy, &e.changedByPerson, &created, &updated)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, err
}

// PutEnvironment creates or updates an environment of an existing agency.
func (s *Store) PutEnvironment(ctx context.Context, c store.Caller, key string, spec store.EnvironmentSpec) (store.Environment, store.Outcome, error) {
	if err := validateKey("key", key); err != nil {
		return store.Environment{}, "", err
	}
	if spec.Agency == "" {
		return store.Environment{}, "", store.Errorf(store.CodeInvalid, "agency", msgRequired)
	}
	if err := validateKey("agency", spec.Agency); err != nil {
		return store.Environment{}, "", err
	}
	if err := validateDisplayName(spec.DisplayName); err != nil {
		return store.Environment{}, "", err
	}
	var out store.Environment
	var outcome store.Outcome
	err := s.write(ctx, c, environmentTarget(key), func(ctx context.Context, t *writeTx) error {
		cur, err := scanEnvironment(t.queryRow(ctx, "SELECT "+environmentColumns+" FROM environments WHERE key = ?"+t.forUpdate(), key))
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var managedBy string
		outcome, managedBy, err = t.upsertScope(ctx, environmentTable, scopeWrite{
			key: key, caller: c, exists: exists, managedBy: cur.ManagedBy, changedByPerson: cur.changedByPerson, agency: spec.Agency,
			fields: []scopeField{
				{name: "agency", column: "agency", cur: cur.Agency, want: spec.Agency},
				{name: "displayName", column: "display_name", cur: cur.DisplayName, want: spec.DisplayName},
			},
			check: func() error {
				if exists && cur.Agency == spec.Agency {
					return nil
				}
				return t.agencyExists(ctx, spec.Agency, "agency")
			},
		})
		switch {
		case err != nil:
			return err
		case outcome == store.Unchanged:
			out = cur.Environment
		case !exists:
			out = store.Environment{Key: key, Agency: spec.Agency, DisplayName: spec.DisplayName, ManagedBy: managedBy, CreatedAt: t.now, UpdatedAt: t.now}
		default:
			out = cur.Environment
			out.Agency, out.DisplayName, out.ManagedBy, out.UpdatedAt = spec.Agency, spec.DisplayName, managedBy, t.now
		}
		return nil
	})
	if err != nil {
		return store.Environment{}, "", err
	}
	return out, outcome, nil
}

// agencyExists fails with CodeUnknownReference naming field when the agency does not
// exist.
func (t *writeTx) agencyExists(ctx context.Context, key, field string) error {
	var one int
	err := t.queryRow(ctx, "SELECT 1 FROM agencies WHERE key = ?", key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Errorf(store.CodeUnknownReference, field, msgUnknownAgency)
	}
	return err
}

// GetEnvironment returns an environment.
func (s *Store) GetEnvironment(ctx context.Context, key string) (store.Environment, error) {
	e, err := scanEnvironment(s.pool().queryRow(ctx, "SELECT "+environmentColumns+" FROM environments WHERE key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Environment{}, store.Errorf(store.CodeNotFound, "", msgEnvironmentNotFound)
	}
	if err != nil {
		return store.Environment{}, mapError(err)
	}
	return e.Environment, nil
}

// DeleteEnvironment deletes an environment and every grant scoped to it (audited one
// grant.removed per user and role). Deleting an environment that does not exist does
// nothing.
func (s *Store) DeleteEnvironment(ctx context.Context, c store.Caller, key string) error {
	return s.write(ctx, c, environmentTarget(key), func(ctx context.Context, t *writeTx) error {
		return t.deleteScope(ctx, environmentTable, c, key, nil)
	})
}
