package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/studio-operator/studio-operator/internal/store"
)

// errLostRace makes a transaction run again: a row it planned to change was changed
// by a concurrent writer.
var errLostRace = &raceError{}

type raceError struct{}

func (*raceError) Error() string { return "concurrent change" }

// storedGrant is a grant row with the agency of its environment (for audit indexes).
type storedGrant struct {
	store.Grant
	user      string
	envAgency string
}

// agencyOf is the agency an audit entry about the grant belongs to.
func (g storedGrant) agencyOf() string {
	if g.Scope.Agency != "" {
		return g.Scope.Agency
	}
	return g.envAgency
}

const grantSelect = "SELECT g.user_key, g.agency_key, g.environment_key, g.roles, COALESCE(e.agency, '') " +
	"FROM grants g LEFT JOIN environments e ON e.key = g.environment_key "

func scanGrants(rows *sql.Rows) ([]storedGrant, error) {
	defer rows.Close()
	var out []storedGrant
	for rows.Next() {
		var g storedGrant
		var agency, env sql.NullString
		var roles string
		if err := rows.Scan(&g.user, &agency, &env, &roles, &g.envAgency); err != nil {
			return nil, err
		}
		g.Scope = store.Scope{Agency: agency.String, Environment: env.String}
		g.Roles = decodeRoles(roles)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b storedGrant) int { return compareScopes(a.Scope, b.Scope) })
	return out, nil
}

func grantsOf(stored []storedGrant) []store.Grant {
	out := make([]store.Grant, len(stored))
	for i, g := range stored {
		out[i] = g.Grant
	}
	return out
}

// PutGrants replaces a user's grant set.
func (s *Store) PutGrants(ctx context.Context, c store.Caller, key string, grants []store.Grant) (store.GrantSet, error) {
	if err := validateKey("key", key); err != nil {
		return store.GrantSet{}, err
	}
	desired, err := normalizeGrants(grants)
	if err != nil {
		return store.GrantSet{}, err
	}
	want := make([]store.Grant, len(desired))
	for i, g := range desired {
		want[i] = g.Grant
	}
	var out store.GrantSet
	err = s.write(ctx, c, userTarget(key), func(ctx context.Context, t *writeTx) error {
		u, err := t.lockLiveUser(ctx, key)
		if err != nil {
			return err
		}
		own, err := decideOwnership(u.ManagedBy, c.Manager, true)
		if err != nil {
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
		plan := planGrants(grantsOf(stored), want)
		if len(plan.Changes) == 0 && !own.adopted {
			out = store.GrantSet{Grants: grantsOf(stored), Changed: false}
			return nil
		}
		envAgency := make(map[string]string)
		for _, g := range stored {
			envAgency[g.Scope.Environment] = g.envAgency
		}
		if err := t.checkScopes(ctx, desired, plan.Insert, envAgency); err != nil {
			return err
		}
		if err := t.applyGrantPlan(ctx, key, plan); err != nil {
			return err
		}
		if own.adopted || u.grantsByPerson != own.personFlag() {
			if _, err := t.exec(ctx, "UPDATE users SET managed_by = ?, grants_by_person = ? WHERE key = ?", own.managedBy, own.personFlag(), key); err != nil {
				return err
			}
		}
		if len(plan.Changes) > 0 && own.correctsDrift(u.grantsByPerson) {
			t.record(auditEntry{action: store.ActionDriftCorrected, target: userTarget(key), user: key,
				details: map[string]any{"kind": "grants", "changes": len(plan.Changes)}})
		}
		if own.adopted {
			t.record(auditEntry{action: store.ActionUserAdopted, target: userTarget(key), user: key,
				details: map[string]any{"manager": own.managedBy}})
		}
		for _, ch := range plan.Changes {
			agency := ch.Scope.Agency
			if agency == "" {
				agency = envAgency[ch.Scope.Environment]
			}
			t.record(auditEntry{action: ch.action(), target: userTarget(key), user: key, agency: agency,
				environment: ch.Scope.Environment, details: ch.auditDetails()})
		}
		out = store.GrantSet{Grants: want, Changed: true}
		return nil
	})
	if err != nil {
		return store.GrantSet{}, err
	}
	return out, nil
}

// checkScopes makes sure the scopes the plan inserts exist, and learns the agency of
// new environments. Errors name the field of the request.
func (t *writeTx) checkScopes(ctx context.Context, desired []desiredGrant, inserts []store.Grant, envAgency map[string]string) error {
	index := make(map[store.Scope]int, len(desired))
	for _, g := range desired {
		index[g.Scope] = g.index
	}
	for _, g := range inserts {
		field := fmt.Sprintf("grants[%d].scope", index[g.Scope])
		if g.Scope.Agency != "" {
			if err := t.agencyExists(ctx, g.Scope.Agency, field+".agency"); err != nil {
				return err
			}
			continue
		}
		var agency string
		err := t.queryRow(ctx, "SELECT agency FROM environments WHERE key = ?", g.Scope.Environment).Scan(&agency)
		if errors.Is(err, sql.ErrNoRows) {
			return store.Errorf(store.CodeUnknownReference, field+".environment", msgUnknownEnvironment)
		}
		if err != nil {
			return err
		}
		envAgency[g.Scope.Environment] = agency
	}
	return nil
}

func (t *writeTx) applyGrantPlan(ctx context.Context, user string, p grantPlan) error {
	for _, s := range p.Delete {
		if n, err := t.execRows(ctx, "DELETE FROM grants WHERE user_key = ? AND scope = ?", user, scopeID(s)); err != nil || n != 1 {
			return cmpErr(err, errLostRace)
		}
	}
	for _, g := range p.Update {
		if n, err := t.execRows(ctx, "UPDATE grants SET roles = ? WHERE user_key = ? AND scope = ?", encodeRoles(g.Roles), user, scopeID(g.Scope)); err != nil || n != 1 {
			return cmpErr(err, errLostRace)
		}
	}
	if len(p.Insert) == 0 {
		return nil
	}
	args := make([]any, 0, len(p.Insert)*5)
	for _, g := range p.Insert {
		var agency, env sql.NullString
		if g.Scope.Agency != "" {
			agency = sql.NullString{String: g.Scope.Agency, Valid: true}
		} else {
			env = sql.NullString{String: g.Scope.Environment, Valid: true}
		}
		args = append(args, user, scopeID(g.Scope), agency, env, encodeRoles(g.Roles))
	}
	_, err := t.exec(ctx, "INSERT INTO grants (user_key, scope, agency_key, environment_key, roles) VALUES "+placeholders(len(p.Insert), 5), args...)
	return err
}

// cmpErr returns err if set, else fallback.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// revokeScope deletes every grant at a scope (col is "agency_key" or
// "environment_key"), auditing one grant.removed per user and role. The users are
// locked first so that none of them is in the middle of a PutGrants.
func (t *writeTx) revokeScope(ctx context.Context, col, key string) error {
	if t.s.d.forUpdate != "" {
		rows, err := t.query(ctx, "SELECT key FROM users WHERE key IN (SELECT user_key FROM grants WHERE "+col+" = ?) ORDER BY key"+t.forUpdate(), key)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
	}
	rows, err := t.query(ctx, grantSelect+"WHERE g."+col+" = ? ORDER BY g.user_key", key)
	if err != nil {
		return err
	}
	stored, err := scanGrants(rows)
	if err != nil || len(stored) == 0 {
		return err
	}
	slices.SortStableFunc(stored, func(a, b storedGrant) int { return cmp.Compare(a.user, b.user) })
	if _, err := t.exec(ctx, "DELETE FROM grants WHERE "+col+" = ?", key); err != nil {
		return err
	}
	t.recordRevoked(stored)
	return nil
}

// recordRevoked audits the removal of whole grants.
func (t *writeTx) recordRevoked(stored []storedGrant) {
	for _, g := range stored {
		for _, ch := range revokeChanges(g.Grant) {
			t.record(auditEntry{action: store.ActionGrantRemoved, target: userTarget(g.user), user: g.user,
				agency: g.agencyOf(), environment: g.Scope.Environment, details: ch.auditDetails()})
		}
	}
}

// GetGrants returns a user's grant set; a removed user has none.
func (s *Store) GetGrants(ctx context.Context, key string) (store.GrantSet, error) {
	var out store.GrantSet
	err := s.read(ctx, func(q querier) error {
		if _, err := s.getUser(ctx, q, key); err != nil {
			return err
		}
		rows, err := q.query(ctx, grantSelect+"WHERE g.user_key = ?", key)
		if err != nil {
			return err
		}
		stored, err := scanGrants(rows)
		if err != nil {
			return err
		}
		out = store.GrantSet{Grants: grantsOf(stored)}
		return nil
	})
	return out, err
}
