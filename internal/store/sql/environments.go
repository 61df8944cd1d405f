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
		own := ownership{managedBy: c.Manager}
		if exists {
			if own, err = decideOwnership(cur.ManagedBy, c.Manager, true); err != nil {
				return err
			}
			if cur.Agency == spec.Agency && cur.DisplayName == spec.DisplayName && !own.adopted {
				out, outcome = cur.Environment, store.Unchanged
				return nil
			}
		}
		if !exists || cur.Agency != spec.Agency {
			if err := t.agencyExists(ctx, spec.Agency, "agency"); err != nil {
				return err
			}
		}
		details := map[string]any{"agency": spec.Agency, "displayName": spec.DisplayName}
		if !exists {
			out = store.Environment{Key: key, Agency: spec.Agency, DisplayName: spec.DisplayName, ManagedBy: c.Manager, CreatedAt: t.now, UpdatedAt: t.now}
			outcome = store.Created
			details["created"] = true
			if _, err := t.exec(ctx, "INSERT INTO environments (key, agency, display_name, managed_by, changed_by_person, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				key, spec.Agency, spec.DisplayName, c.Manager, false, micros(t.now), micros(t.now)); err != nil {
				return err
			}
		} else {
			var fields []string
			if cur.Agency != spec.Agency {
				fields = append(fields, "agency")
			}
			if cur.DisplayName != spec.DisplayName {
				fields = append(fields, "displayName")
			}
			out = cur.Environment
			out.Agency, out.DisplayName, out.ManagedBy, out.UpdatedAt, outcome = spec.Agency, spec.DisplayName, own.managedBy, t.now, store.Updated
			if _, err := t.exec(ctx, "UPDATE environments SET agency = ?, display_name = ?, managed_by = ?, changed_by_person = ?, updated_at = ? WHERE key = ?",
				spec.Agency, spec.DisplayName, own.managedBy, own.personFlag(), micros(t.now), key); err != nil {
				return err
			}
			if len(fields) > 0 && own.correctsDrift(cur.changedByPerson) {
				t.record(auditEntry{action: store.ActionDriftCorrected, target: environmentTarget(key), agency: spec.Agency, environment: key,
					details: map[string]any{"kind": "environment", "fields": fields}})
			}
			if own.adopted {
				details["adoptedBy"] = own.managedBy
			}
		}
		t.record(auditEntry{action: store.ActionEnvironmentUpserted, target: environmentTarget(key), agency: spec.Agency, environment: key, details: details})
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
		// Users first, then the scope: the store's one lock order (grants.go).
		if err := t.lockGrantHolders(ctx, "environment_key", key); err != nil {
			return err
		}
		var managedBy, agency string
		err := t.queryRow(ctx, "SELECT managed_by, agency FROM environments WHERE key = ?"+t.forUpdate(), key).Scan(&managedBy, &agency)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := decideOwnership(managedBy, c.Manager, false); err != nil {
			return err
		}
		if err := t.revokeScope(ctx, "environment_key", key); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM environments WHERE key = ?", key); err != nil {
			return err
		}
		t.record(auditEntry{action: store.ActionEnvironmentDeleted, target: environmentTarget(key), agency: agency, environment: key})
		return nil
	})
}
