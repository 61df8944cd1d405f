package sqlstore

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/studio-operator/studio-operator/internal/store"
)

const msgCursor = "is not a cursor this store returned"

// Cursors are opaque to clients: the last key of the previous page, encoded after a
// prefix naming the listing, so that one listing's cursor is refused by another.
const (
	cursorUsers        = "u:"
	cursorGrants       = "g:"
	cursorEnvironments = "e:"
	// cursorUndeliverable pages ListUndeliverable, by user key.
	cursorUndeliverable = "d:"
)

func encodeCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + key))
}

// decodeCursor returns the key after which a page of kind starts: "" for the first
// page (no cursor).
func decodeCursor(kind, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(b), kind) {
		return "", store.Errorf(store.CodeInvalid, "cursor", msgCursor)
	}
	return string(b[len(kind):]), nil
}

// ListUsers pages through users by key. Email matches case-insensitively; Agency
// selects users with a grant at the agency's scope or on one of its environments;
// Environment selects users with a grant at that environment's scope.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) (store.UserPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.UserPage{}, err
	}
	after, err := decodeCursor(cursorUsers, f.Cursor)
	if err != nil {
		return store.UserPage{}, err
	}
	conds := []string{"u.key > ?"}
	args := []any{after}
	if f.Email != "" {
		conds = append(conds, "u.email_norm = ?")
		args = append(args, normEmail(f.Email))
	}
	if f.Agency != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM grants g LEFT JOIN environments e ON e.key = g.environment_key "+
			"WHERE g.user_key = u.key AND (g.agency_key = ? OR e.agency = ?))")
		args = append(args, f.Agency, f.Agency)
	}
	if f.Environment != "" {
		// Driven from the grants on the environment (index grants_environment), not
		// by probing every user's grants.
		conds = append(conds, "u.key IN (SELECT g.user_key FROM grants g WHERE g.environment_key = ?)")
		args = append(args, f.Environment)
	}
	args = append(args, limit+1)
	query := "SELECT " + prefixColumns("u.", userColumns) + " FROM users u WHERE " + strings.Join(conds, " AND ") + " ORDER BY u.key LIMIT ?"
	rows, err := s.pool().query(ctx, query, args...)
	if err != nil {
		return store.UserPage{}, mapError(err)
	}
	defer rows.Close()
	page := store.UserPage{Items: []store.User{}}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return store.UserPage{}, mapError(err)
		}
		page.Items = append(page.Items, u.User)
	}
	if err := rows.Err(); err != nil {
		return store.UserPage{}, mapError(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next := encodeCursor(cursorUsers, page.Items[limit-1].Key)
		page.Next = &next
	}
	return page, nil
}

// prefixColumns qualifies a comma-separated column list with a table alias.
func prefixColumns(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}
