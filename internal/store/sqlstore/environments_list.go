package sqlstore

import (
	"context"
	"strings"

	"github.com/studio-operator/studio-operator/internal/store"
)

// ListEnvironments pages through environments by key, each as GetEnvironment returns
// it; Agency selects the environments of one agency.
func (s *Store) ListEnvironments(ctx context.Context, f store.EnvironmentFilter) (store.EnvironmentPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.EnvironmentPage{}, err
	}
	after, err := decodeCursor(cursorEnvironments, f.Cursor)
	if err != nil {
		return store.EnvironmentPage{}, err
	}
	conds := []string{"key > ?"}
	args := []any{after}
	if f.Agency != "" {
		conds = append(conds, "agency = ?")
		args = append(args, f.Agency)
	}
	args = append(args, limit+1)
	query := "SELECT " + environmentColumns + " FROM environments WHERE " + strings.Join(conds, " AND ") + " ORDER BY key LIMIT ?"
	rows, err := s.pool().query(ctx, query, args...)
	if err != nil {
		return store.EnvironmentPage{}, mapError(err)
	}
	defer rows.Close()
	page := store.EnvironmentPage{Items: []store.Environment{}}
	for rows.Next() {
		e, err := scanEnvironment(rows)
		if err != nil {
			return store.EnvironmentPage{}, mapError(err)
		}
		page.Items = append(page.Items, e.Environment)
	}
	if err := rows.Err(); err != nil {
		return store.EnvironmentPage{}, mapError(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next := encodeCursor(cursorEnvironments, page.Items[limit-1].Key)
		page.Next = &next
	}
	return page, nil
}
