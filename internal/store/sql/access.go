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

// accessEnvironments are the environments the user's grants can reach: those of the
// agencies granted at agency scope and those granted at environment scope.
const accessEnvironments = "SELECT e.key, e.agency, e.display_name, a.display_name FROM environments e JOIN agencies a ON a.key = e.agency " +
	"WHERE e.agency IN (SELECT g.agency_key FROM grants g WHERE g.user_key = ? AND g.agency_key IS NOT NULL) " +
	"OR e.key IN (SELECT g.environment_key FROM grants g WHERE g.user_key = ? AND g.environment_key IS NOT NULL)"

// resolveAccess computes a user's effective access with internal/cascade, reading
// through q (a snapshot or the write transaction).
func (s *Store) resolveAccess(ctx context.Context, q querier, u userRow) ([]cascade.Access, map[string]envInfo, error) {
	if u.removed() || u.Suspended {
		return nil, nil, nil
	}
	rows, err := q.query(ctx, grantSelect+"WHERE g.user_key = ?", u.Key)
	if err != nil {
		return nil, nil, err
	}
	stored, err := scanGrants(rows)
	if err != nil || len(stored) == 0 {
		return nil, nil, err
	}
	grants := make([]cascade.Grant, len(stored))
	for i, g := range stored {
		grants[i] = cascade.Grant{Scope: cascade.Scope{Agency: g.Scope.Agency, Environment: g.Scope.Environment}, Roles: g.Roles}
	}
	envRows, err := q.query(ctx, accessEnvironments, u.Key, u.Key)
	if err != nil {
		return nil, nil, err
	}
	defer envRows.Close()
	var envs []cascade.Environment
	info := make(map[string]envInfo)
	for envRows.Next() {
		var e envInfo
		if err := envRows.Scan(&e.Key, &e.Agency, &e.displayName, &e.agencyDisplayName); err != nil {
			return nil, nil, err
		}
		envs = append(envs, e.Environment)
		info[e.Key] = e
	}
	if err := envRows.Err(); err != nil {
		return nil, nil, err
	}
	user := cascade.User{Type: u.Type, Suspended: u.Suspended, Removed: u.removed()}
	return cascade.Resolve(user, grants, envs), info, nil
}

// GetAccess returns the user's effective access per environment (the impersonate
// view); suspended and removed users have none.
func (s *Store) GetAccess(ctx context.Context, key string) (store.Access, error) {
	out := store.Access{Environments: []store.EnvironmentAccess{}}
	err := s.read(ctx, func(q querier) error {
		u, err := s.getUser(ctx, q, key)
		if err != nil {
			return err
		}
		resolved, _, err := s.resolveAccess(ctx, q, u)
		if err != nil {
			return err
		}
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
		return nil
	})
	if err != nil {
		return store.Access{}, err
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
