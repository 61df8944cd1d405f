package sqlstore

import (
	"context"
	"database/sql"
	"slices"

	"github.com/studio-operator/studio-operator/internal/store"
)

// ListGrants pages through the grant sets of all user records by user key, each as
// GetGrants returns it (removed users and users without grants have an empty set).
// A page is read in one snapshot with two queries, whatever its size: the page's
// user keys, then the grants of that key range, which the grants primary key
// (user_key, scope) serves.
func (s *Store) ListGrants(ctx context.Context, f store.GrantFilter) (store.GrantPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.GrantPage{}, err
	}
	after, err := decodeCursor(cursorGrants, f.Cursor)
	if err != nil {
		return store.GrantPage{}, err
	}
	var page store.GrantPage
	err = s.read(ctx, func(q querier) error {
		keys, err := userKeysAfter(ctx, q, after, limit+1)
		if err != nil {
			return err
		}
		page = store.GrantPage{Items: make([]store.UserGrants, 0, min(len(keys), limit))}
		if len(keys) > limit {
			keys = keys[:limit]
			next := encodeCursor(cursorGrants, keys[limit-1])
			page.Next = &next
		}
		if len(keys) == 0 {
			return nil
		}
		index := make(map[string]int, len(keys))
		for i, k := range keys {
			index[k] = i
			page.Items = append(page.Items, store.UserGrants{User: k, Grants: []store.Grant{}})
		}
		// Grants reference their user, so every row of the range belongs to the page.
		rows, err := q.query(ctx, "SELECT user_key, agency_key, environment_key, roles FROM grants WHERE user_key >= ? AND user_key <= ?",
			keys[0], keys[len(keys)-1])
		if err != nil {
			return err
		}
		if err := scanGrantPage(rows, page.Items, index); err != nil {
			return err
		}
		for _, item := range page.Items {
			slices.SortFunc(item.Grants, func(a, b store.Grant) int { return compareScopes(a.Scope, b.Scope) })
		}
		return nil
	})
	if err != nil {
		return store.GrantPage{}, err
	}
	return page, nil
}

// userKeysAfter returns up to n user keys after the key after, in key order.
func userKeysAfter(ctx context.Context, q querier, after string, n int) ([]string, error) {
	rows, err := q.query(ctx, "SELECT key FROM users WHERE key > ? ORDER BY key LIMIT ?", after, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := make([]string, 0, n)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// scanGrantPage adds grant rows to the items of their users (index maps a user key to
// its item), decoded as scanGrants does.
func scanGrantPage(rows *sql.Rows, items []store.UserGrants, index map[string]int) error {
	defer rows.Close()
	for rows.Next() {
		var user, roles string
		var agency, env sql.NullString
		if err := rows.Scan(&user, &agency, &env, &roles); err != nil {
			return err
		}
		i, ok := index[user]
		if !ok {
			continue
		}
		items[i].Grants = append(items[i].Grants, store.Grant{
			Scope: store.Scope{Agency: agency.String, Environment: env.String}, Roles: decodeRoles(roles),
		})
	}
	return rows.Err()
}
