package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/studio-operator/studio-operator/internal/store"
)

type agencyRow struct {
	store.Agency
	changedByPerson bool
}

const agencyColumns = "key, display_name, managed_by, changed_by_person, created_at, updated_at"

func scanAgency(row interface{ Scan(...any) error }) (agencyRow, error) {
	var a agencyRow
	var created, updated int64
	err := row.Scan(&a.Key, &a.DisplayName, &a.ManagedBy, &a.changedByPerson, &created, &updated)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, err
}

// PutAgency creates or updates an agency.
func (s *Store) PutAgency(ctx context.Context, c store.Caller, key string, spec store.AgencySpec) (store.Agency, store.Outcome, error) {
	if err := validateKey("key", key); err != nil {
		return store.Agency{}, "", err
	}
	if err := validateDisplayName(spec.DisplayName); err != nil {
		return store.Agency{}, "", err
	}
	var out store.Agency
	var outcome store.Outcome
	err := s.write(ctx, c, agencyTarget(key), func(ctx context.Context, t *writeTx) error {
		cur, err := scanAgency(t.queryRow(ctx, "SELECT "+agencyColumns+" FROM agencies WHERE key = ?"+t.forUpdate(), key))
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var managedBy string
		outcome, managedBy, err = t.upsertScope(ctx, agencyTable, scopeWrite{
			key: key, caller: c, exists: exists, managedBy: cur.ManagedBy, changedByPerson: cur.changedByPerson, agency: key,
			fields: []scopeField{{name: "displayName", column: "display_name", cur: cur.DisplayName, want: spec.DisplayName}},
		})
		switch {
		case err != nil:
			return err
		case outcome == store.Unchanged:
			out = cur.Agency
		case !exists:
			out = store.Agency{Key: key, DisplayName: spec.DisplayName, ManagedBy: managedBy, CreatedAt: t.now, UpdatedAt: t.now}
		default:
			out = cur.Agency
			out.DisplayName, out.ManagedBy, out.UpdatedAt = spec.DisplayName, managedBy, t.now
		}
		return nil
	})
	if err != nil {
		return store.Agency{}, "", err
	}
	return out, outcome, nil
}

// GetAgency returns an agency.
func (s *Store) GetAgency(ctx context.Context, key string) (store.Agency, error) {
	a, err := scanAgency(s.pool().queryRow(ctx, "SELECT "+agencyColumns+" FROM agencies WHERE key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Agency{}, store.Errorf(store.CodeNotFound, "", msgAgencyNotFound)
	}
	if err != nil {
		return store.Agency{}, mapError(err)
	}
	return a.Agency, nil
}

// DeleteAgency deletes an agency and the grants at its scope; it refuses while the
// agency has environments. Deleting an agency that does not exist does nothing.
func (s *Store) DeleteAgency(ctx context.Context, c store.Caller, key string) error {
	return s.write(ctx, c, agencyTarget(key), func(ctx context.Context, t *writeTx) error {
		return t.deleteScope(ctx, agencyTable, c, key, func() error {
			var one int
			err := t.queryRow(ctx, "SELECT 1 FROM environments WHERE agency = ? LIMIT 1", key).Scan(&one)
			if err == nil {
				return store.Errorf(store.CodeHasDependents, "", msgHasDependents)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return nil
		})
	})
}
