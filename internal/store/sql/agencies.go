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
		if errors.Is(err, sql.ErrNoRows) {
			out = store.Agency{Key: key, DisplayName: spec.DisplayName, ManagedBy: c.Manager, CreatedAt: t.now, UpdatedAt: t.now}
			outcome = store.Created
			if _, err := t.exec(ctx, "INSERT INTO agencies (key, display_name, managed_by, changed_by_person, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
				key, spec.DisplayName, c.Manager, false, micros(t.now), micros(t.now)); err != nil {
				return err
			}
			t.record(auditEntry{action: store.ActionAgencyUpserted, target: agencyTarget(key), agency: key,
				details: map[string]any{"created": true, "displayName": spec.DisplayName}})
			return nil
		}
		if err != nil {
			return err
		}
		own, err := decideOwnership(cur.ManagedBy, c.Manager, true)
		if err != nil {
			return err
		}
		changed := cur.DisplayName != spec.DisplayName
		if !changed && !own.adopted {
			out, outcome = cur.Agency, store.Unchanged
			return nil
		}
		out = cur.Agency
		out.DisplayName, out.ManagedBy, out.UpdatedAt, outcome = spec.DisplayName, own.managedBy, t.now, store.Updated
		if _, err := t.exec(ctx, "UPDATE agencies SET display_name = ?, managed_by = ?, changed_by_person = ?, updated_at = ? WHERE key = ?",
			spec.DisplayName, own.managedBy, own.personFlag(), micros(t.now), key); err != nil {
			return err
		}
		details := map[string]any{"displayName": spec.DisplayName}
		if changed && own.correctsDrift(cur.changedByPerson) {
			t.record(auditEntry{action: store.ActionDriftCorrected, target: agencyTarget(key), agency: key,
				details: map[string]any{"kind": "agency", "fields": []string{"displayName"}}})
		}
		if own.adopted {
			details["adoptedBy"] = own.managedBy
		}
		t.record(auditEntry{action: store.ActionAgencyUpserted, target: agencyTarget(key), agency: key, details: details})
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
		// Users first, then the scope: the store's one lock order (grants.go).
		if err := t.lockGrantHolders(ctx, "agency_key", key); err != nil {
			return err
		}
		var managedBy string
		err := t.queryRow(ctx, "SELECT managed_by FROM agencies WHERE key = ?"+t.forUpdate(), key).Scan(&managedBy)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := decideOwnership(managedBy, c.Manager, false); err != nil {
			return err
		}
		var one int
		err = t.queryRow(ctx, "SELECT 1 FROM environments WHERE agency = ? LIMIT 1", key).Scan(&one)
		if err == nil {
			return store.Errorf(store.CodeHasDependents, "", msgHasDependents)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := t.revokeScope(ctx, "agency_key", key); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM agencies WHERE key = ?", key); err != nil {
			return err
		}
		t.record(auditEntry{action: store.ActionAgencyDeleted, target: agencyTarget(key), agency: key})
		return nil
	})
}
