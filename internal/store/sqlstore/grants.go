package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
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
	req, err := newGrantRequest(key, grants)
	if err != nil {
		return store.GrantSet{}, err
	}
	if err := s.writeGrants(ctx, c, req); err != nil {
		return store.GrantSet{}, err
	}
	return req.out, nil
}

// putGrantsTx is PutGrants as a generic write: lock the user, read its grants and the
// requested scopes, write the difference.
func putGrantsTx(req *grantRequest) writeFunc {
	return func(ctx context.Context, t *writeTx) error {
		u, err := t.lockLiveUser(ctx, req.key)
		if err != nil {
			return err
		}
		own, err := decideOwnership(u.ManagedBy, t.caller.Manager, true)
		if err != nil {
			return err
		}
		stored, refs, err := t.loadGrantsAndScopes(ctx, req.key, req.want)
		if err != nil {
			return err
		}
		d, err := decideGrants(req, u, own, stored, refs)
		if err != nil {
			return err
		}
		req.out = d.out
		if !d.writes() {
			return nil
		}
		if err := t.applyGrantPlan(ctx, req.key, d.plan); err != nil {
			return err
		}
		if d.setOwner {
			if _, err := t.exec(ctx, "UPDATE users SET managed_by = ?, grants_by_person = ? WHERE key = ?", own.managedBy, own.personFlag(), req.key); err != nil {
				return err
			}
		}
		for _, e := range d.entries {
			t.record(e)
		}
		return nil
	}
}

// scopeRefs are the scopes of a desired grant set that exist: agencies, and
// environments with their agency.
type scopeRefs struct {
	agencies     map[string]bool
	environments map[string]string
}

// loadGrantsAndScopes reads the user's grants and which of the desired scopes exist,
// in one query (a round trip saved on every PutGrants). The user is locked already, so
// the grants cannot change under us.
func (t *writeTx) loadGrantsAndScopes(ctx context.Context, user string, desired []store.Grant) ([]storedGrant, scopeRefs, error) {
	if t.s.d == sqliteDialect {
		return t.loadGrantsAndScopesLocally(ctx, user, desired)
	}
	var agencies, envs []string
	for _, g := range desired {
		if g.Scope.Agency != "" {
			agencies = append(agencies, g.Scope.Agency)
		} else {
			envs = append(envs, g.Scope.Environment)
		}
	}
	agencyJSON, err := json.Marshal(nonNil(agencies))
	if err != nil {
		return nil, scopeRefs{}, err
	}
	envJSON, err := json.Marshal(nonNil(envs))
	if err != nil {
		return nil, scopeRefs{}, err
	}
	rows, err := t.query(ctx, "SELECT 'grant', g.user_key, g.agency_key, g.environment_key, g.roles, COALESCE(e.agency, '') "+
		"FROM grants g LEFT JOIN environments e ON e.key = g.environment_key WHERE g.user_key = ? "+
		"UNION ALL SELECT 'environment', '', NULL, e.key, '', e.agency FROM environments e WHERE e.key IN ("+t.s.d.jsonTexts+") "+
		"UNION ALL SELECT 'agency', '', a.key, NULL, '', '' FROM agencies a WHERE a.key IN ("+t.s.d.jsonTexts+")",
		user, string(envJSON), string(agencyJSON))
	if err != nil {
		return nil, scopeRefs{}, err
	}
	defer rows.Close()
	refs := scopeRefs{agencies: map[string]bool{}, environments: map[string]string{}}
	var stored []storedGrant
	for rows.Next() {
		var kind, userKey, roles, envAgency string
		var agency, env sql.NullString
		if err := rows.Scan(&kind, &userKey, &agency, &env, &roles, &envAgency); err != nil {
			return nil, scopeRefs{}, err
		}
		switch kind {
		case "agency":
			refs.agencies[agency.String] = true
		case "environment":
			refs.environments[env.String] = envAgency
		default:
			stored = append(stored, storedGrant{
				Grant: store.Grant{Scope: store.Scope{Agency: agency.String, Environment: env.String}, Roles: decodeRoles(roles)},
				user:  userKey, envAgency: envAgency,
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, scopeRefs{}, err
	}
	slices.SortFunc(stored, func(a, b storedGrant) int { return compareScopes(a.Scope, b.Scope) })
	return stored, refs, nil
}

// loadGrantsAndScopesLocally is loadGrantsAndScopes for SQLite, where a query costs no
// round trip: point look-ups of the scopes the user has no grant at yet are cheaper
// than one query over a JSON list.
func (t *writeTx) loadGrantsAndScopesLocally(ctx context.Context, user string, desired []store.Grant) ([]storedGrant, scopeRefs, error) {
	rows, err := t.query(ctx, grantSelect+"WHERE g.user_key = ?", user)
	if err != nil {
		return nil, scopeRefs{}, err
	}
	stored, err := scanGrants(rows)
	if err != nil {
		return nil, scopeRefs{}, err
	}
	refs := scopeRefs{agencies: map[string]bool{}, environments: map[string]string{}}
	have := make(map[store.Scope]bool, len(stored))
	for _, g := range stored {
		have[g.Scope] = true
	}
	for _, g := range desired {
		if have[g.Scope] {
			continue
		}
		var agency string
		var err error
		if g.Scope.Agency != "" {
			err = t.queryRow(ctx, "SELECT key FROM agencies WHERE key = ?", g.Scope.Agency).Scan(&agency)
		} else {
			err = t.queryRow(ctx, "SELECT agency FROM environments WHERE key = ?", g.Scope.Environment).Scan(&agency)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, scopeRefs{}, err
		case g.Scope.Agency != "":
			refs.agencies[agency] = true
		default:
			refs.environments[g.Scope.Environment] = agency
		}
	}
	return stored, refs, nil
}

// checkScopes makes sure the scopes the plan inserts exist, naming the request's field
// otherwise, and returns the agency of every environment involved (for audit indexes).
func checkScopes(desired []desiredGrant, inserts []store.Grant, stored []storedGrant, refs scopeRefs) (map[string]string, error) {
	envAgency := make(map[string]string, len(stored)+len(refs.environments))
	for _, g := range stored {
		envAgency[g.Scope.Environment] = g.envAgency
	}
	for env, agency := range refs.environments {
		envAgency[env] = agency
	}
	index := make(map[store.Scope]int, len(desired))
	for _, g := range desired {
		index[g.Scope] = g.index
	}
	for _, g := range inserts {
		field := fmt.Sprintf("grants[%d].scope", index[g.Scope])
		if g.Scope.Agency != "" {
			if !refs.agencies[g.Scope.Agency] {
				return nil, store.Errorf(store.CodeUnknownReference, field+".agency", msgUnknownAgency)
			}
			continue
		}
		if _, ok := refs.environments[g.Scope.Environment]; !ok {
			return nil, store.Errorf(store.CodeUnknownReference, field+".environment", msgUnknownEnvironment)
		}
	}
	return envAgency, nil
}

func (t *writeTx) applyGrantPlan(ctx context.Context, user string, p grantPlan) error {
	if t.s.d == postgresDialect {
		return t.applyGrantPlanPostgres(ctx, user, p)
	}
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

// grantRow is a grant row as JSON, for the single-statement apply on PostgreSQL.
type grantRow struct {
	Scope       string `json:"scope"`
	Agency      string `json:"agency,omitempty"`
	Environment string `json:"environment,omitempty"`
	Roles       string `json:"roles"`
}

// applyGrantPlanPostgres applies the plan in one statement (one round trip): a
// data-modifying CTE deletes the scopes that go, and an upsert writes the scopes that
// come or change. The user's row lock keeps other writers of these rows out.
func (t *writeTx) applyGrantPlanPostgres(ctx context.Context, user string, p grantPlan) error {
	deleted := make([]string, len(p.Delete))
	for i, s := range p.Delete {
		deleted[i] = scopeID(s)
	}
	upserts := make([]grantRow, 0, len(p.Insert)+len(p.Update))
	for _, g := range slices.Concat(p.Insert, p.Update) {
		upserts = append(upserts, grantRow{Scope: scopeID(g.Scope), Agency: g.Scope.Agency, Environment: g.Scope.Environment, Roles: encodeRoles(g.Roles)})
	}
	deletedJSON, err := json.Marshal(deleted)
	if err != nil {
		return err
	}
	upsertJSON, err := json.Marshal(upserts)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, "WITH removed AS (DELETE FROM grants WHERE user_key = ? AND scope IN ("+t.s.d.jsonTexts+")) "+
		"INSERT INTO grants (user_key, scope, agency_key, environment_key, roles) "+
		"SELECT ?, x->>'scope', x->>'agency', x->>'environment', x->>'roles' FROM jsonb_array_elements(CAST(? AS jsonb)) AS x "+
		"ON CONFLICT (user_key, scope) DO UPDATE SET roles = excluded.roles",
		user, string(deletedJSON), user, string(upsertJSON))
	return err
}

// cmpErr returns err if set, else fallback.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// Lock order. Writes that touch users and scopes lock the users first, in key order,
// and the scope (agency or environment row) after: PutGrants locks its user and then,
// through the grants' foreign keys, shares a lock on each scope it names; deleting a
// scope therefore locks the users holding grants on it (lockGrantHolders) before the
// scope row itself. The opposite order deadlocks with a concurrent PutGrants on
// PostgreSQL. SQLite has one writer and needs no row locks.

// lockGrantHolders locks the users that hold a grant at a scope (col is "agency_key"
// or "environment_key"), in key order, so that none of them is in the middle of a
// PutGrants; called before the scope row is locked.
func (t *writeTx) lockGrantHolders(ctx context.Context, col, key string) error {
	if t.s.d.forUpdate == "" {
		return nil
	}
	rows, err := t.query(ctx, "SELECT key FROM users WHERE key IN (SELECT user_key FROM grants WHERE "+col+" = ?) ORDER BY key"+t.forUpdate(), key)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return errors.Join(rows.Err(), rows.Close())
}

// revokeScope deletes every grant at a scope (col is "agency_key" or
// "environment_key"), auditing one grant.removed per user and role. The caller has
// locked the users holding them (lockGrantHolders) and then the scope; a grant added
// in between by a user not locked then is deleted too, as the scope's lock made its
// PutGrants commit first.
func (t *writeTx) revokeScope(ctx context.Context, col, key string) error {
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
