package sqlstore

import (
	"context"
	"slices"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// envInfo is an environment the user's grants reach, with display names for mails.
type envInfo struct {
	cascade.Environment
	displayName       string
	agencyDisplayName string
}

// accessQuery reads all that effective access depends on in one statement, which is
// one snapshot and one round trip: the user (kind "user"), its grants ("grant") and
// the environments its grants reach ("environment": those of agencies granted at
// agency scope and those granted at environment scope). Columns are text: a, b, c, d.
const accessQuery = "SELECT 'user', u.type, u.lifecycle, CASE WHEN u.suspended THEN 'yes' ELSE 'no' END, '' FROM users u WHERE u.key = ? " +
	"UNION ALL SELECT 'grant', COALESCE(g.agency_key, ''), COALESCE(g.environment_key, ''), g.roles, '' FROM grants g WHERE g.user_key = ? " +
	"UNION ALL SELECT 'environment', e.key, e.agency, e.display_name, a.display_name FROM environments e JOIN agencies a ON a.key = e.agency " +
	"WHERE e.agency IN (SELECT g.agency_key FROM grants g WHERE g.user_key = ? AND g.agency_key IS NOT NULL) " +
	"OR e.key IN (SELECT g.environment_key FROM grants g WHERE g.user_key = ? AND g.environment_key IS NOT NULL)"

// resolveAccess computes a user's effective access with internal/cascade, reading
// through q (the reader pool or a write transaction). found is false when the user does
// not exist.
func (s *Store) resolveAccess(ctx context.Context, q querier, key string) (access []cascade.Access, info map[string]envInfo, found bool, err error) {
	rows, err := q.query(ctx, accessQuery, key, key, key, key)
	if err != nil {
		return nil, nil, false, err
	}
	defer rows.Close()
	var user cascade.User
	var grants []cascade.Grant
	var envs []cascade.Environment
	info = make(map[string]envInfo)
	for rows.Next() {
		var kind, a, b, c, d string
		if err := rows.Scan(&kind, &a, &b, &c, &d); err != nil {
			return nil, nil, false, err
		}
		switch kind {
		case "user":
			found = true
			user = cascade.User{Type: cascade.UserType(a), Removed: b == lifecycleRemoved, Suspended: c == "yes"}
		case "grant":
			grants = append(grants, cascade.Grant{Scope: cascade.Scope{Agency: a, Environment: b}, Roles: decodeRoles(c)})
		case "environment":
			e := envInfo{Environment: cascade.Environment{Key: a, Agency: b}, displayName: c, agencyDisplayName: d}
			envs = append(envs, e.Environment)
			info[a] = e
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, false, err
	}
	return cascade.Resolve(user, grants, envs), info, found, nil
}

// GetAccess returns the user's effective access per environment (the impersonate
// view); suspended and removed users have none.
func (s *Store) GetAccess(ctx context.Context, key string) (store.Access, error) {
	resolved, _, found, err := s.resolveAccess(ctx, s.pool(), key)
	if err != nil {
		return store.Access{}, mapError(err)
	}
	if !found {
		return store.Access{}, notFoundUser()
	}
	out := store.Access{Environments: make([]store.EnvironmentAccess, 0, len(resolved))}
	for _, a := range resolved {
		out.Environments = append(out.Environments, store.EnvironmentAccess{
			Environment:  a.Environment,
			Agency:       a.Agency,
			Roles:        nonNil(a.Roles),
			Source:       a.Source,
			Capabilities: nonNil(a.Capabilities),
			Notify:       a.Notify,
		})
	}
	return out, nil
}

// agencyNames lists the display names of the agencies the access reaches, sorted.
func agencyNames(access []cascade.Access, info map[string]envInfo) []string {
	var out []string
	for _, a := range access {
		name := info[a.Environment].agencyDisplayName
		if name == "" {
			name = a.Agency
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
