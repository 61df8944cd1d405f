package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/studio-operator/studio-operator/internal/store"
)

// scopeTable is what the two tables of records that grants are scoped to, agencies
// and environments, have in common: the same upsert (ownership, adoption, drift) and
// the same deletion (every grant at the scope revoked first), on different columns.
type scopeTable struct {
	// kind names the record in drift.corrected details.
	kind  string
	table string
	// grantColumn is the grants column that holds this scope.
	grantColumn string
	// agencyColumn is the column that names the record's agency (an agency's is
	// its key), for the audit entries.
	agencyColumn string
	// environment is set for environments: their audit entries name them.
	environment bool
	target      func(key string) string
	upserted    string
	deleted     string
}

var (
	agencyTable = scopeTable{
		kind: "agency", table: "agencies", grantColumn: "agency_key", agencyColumn: "key",
		target: agencyTarget, upserted: store.ActionAgencyUpserted, deleted: store.ActionAgencyDeleted,
	}
	environmentTable = scopeTable{
		kind: "environment", table: "environments", grantColumn: "environment_key", agencyColumn: "agency", environment: true,
		target: environmentTarget, upserted: store.ActionEnvironmentUpserted, deleted: store.ActionEnvironmentDeleted,
	}
)

// entry is an audit entry about the record key of agency.
func (tab scopeTable) entry(action, key, agency string, details map[string]any) auditEntry {
	e := auditEntry{action: action, target: tab.target(key), agency: agency, details: details}
	if tab.environment {
		e.environment = key
	}
	return e
}

// scopeField is one column of a scope record: its name in audit details, its
// column, the value the store holds and the value wanted.
type scopeField struct {
	name, column string
	cur, want    string
}

// scopeWrite is one upsert of a scope record.
type scopeWrite struct {
	key    string
	caller store.Caller
	// exists, managedBy and changedByPerson describe the record as locked.
	exists          bool
	managedBy       string
	changedByPerson bool
	fields          []scopeField
	// agency is the record's agency after the write, for the audit entries.
	agency string
	// check, when set, runs once the write is known to change something, before it
	// does (an environment's agency must exist).
	check func() error
}

// upsertScope inserts a new record, or updates one whose fields differ or that the
// caller adopts, and audits the write, with a drift.corrected entry first when a
// manager sets back a person's change. It returns the outcome and the record's
// manager after the write.
func (t *writeTx) upsertScope(ctx context.Context, tab scopeTable, w scopeWrite) (store.Outcome, string, error) {
	own := ownership{managedBy: w.caller.Manager}
	var changed []string
	if w.exists {
		var err error
		if own, err = decideOwnership(w.managedBy, w.caller.Manager, true); err != nil {
			return "", "", err
		}
		for _, f := range w.fields {
			if f.cur != f.want {
				changed = append(changed, f.name)
			}
		}
		if len(changed) == 0 && !own.adopted {
			return store.Unchanged, w.managedBy, nil
		}
	}
	if w.check != nil {
		if err := w.check(); err != nil {
			return "", "", err
		}
	}
	details := make(map[string]any, len(w.fields)+1)
	args := []any{}
	columns, marks, set := "key", "?", ""
	for _, f := range w.fields {
		details[f.name] = f.want
		args = append(args, f.want)
		columns, marks, set = columns+", "+f.column, marks+", ?", set+f.column+" = ?, "
	}
	if !w.exists {
		args = append([]any{w.key}, append(args, w.caller.Manager, false, micros(t.now), micros(t.now))...)
		if _, err := t.exec(ctx, "INSERT INTO "+tab.table+" ("+columns+", managed_by, changed_by_person, created_at, updated_at) VALUES ("+marks+", ?, ?, ?, ?)", args...); err != nil {
			return "", "", err
		}
		details["created"] = true
		t.record(tab.entry(tab.upserted, w.key, w.agency, details))
		return store.Created, w.caller.Manager, nil
	}
	args = append(args, own.managedBy, own.personFlag(), micros(t.now), w.key)
	if _, err := t.exec(ctx, "UPDATE "+tab.table+" SET "+set+"managed_by = ?, changed_by_person = ?, updated_at = ? WHERE key = ?", args...); err != nil {
		return "", "", err
	}
	if len(changed) > 0 && own.correctsDrift(w.changedByPerson) {
		t.record(tab.entry(store.ActionDriftCorrected, w.key, w.agency, map[string]any{"kind": tab.kind, "fields": changed}))
	}
	if own.adopted {
		details["adoptedBy"] = own.managedBy
	}
	t.record(tab.entry(tab.upserted, w.key, w.agency, details))
	return store.Updated, own.managedBy, nil
}

// deleteScope deletes the record key and, first, every grant at its scope (audited
// one grant.removed per user and role). A record that does not exist is nothing to
// delete. check, when set, runs on the locked record before anything is deleted.
func (t *writeTx) deleteScope(ctx context.Context, tab scopeTable, c store.Caller, key string, check func() error) error {
	// Users first, then the scope: the store's one lock order (grants.go).
	if err := t.lockGrantHolders(ctx, tab.grantColumn, key); err != nil {
		return err
	}
	var managedBy, agency string
	err := t.queryRow(ctx, "SELECT managed_by, "+tab.agencyColumn+" FROM "+tab.table+" WHERE key = ?"+t.forUpdate(), key).Scan(&managedBy, &agency)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := decideOwnership(managedBy, c.Manager, false); err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	if err := t.revokeScope(ctx, tab.grantColumn, key); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "DELETE FROM "+tab.table+" WHERE key = ?", key); err != nil {
		return err
	}
	t.record(tab.entry(tab.deleted, key, agency, nil))
	return nil
}
