package sqlstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
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

// ListUsers pages through users in the filter's order (by key unless it says). Email
// matches case-insensitively; Agency selects users with a grant at the agency's scope
// or on one of its environments; Environment selects users with a grant at that
// environment's scope. Every order is a keyset on (value, key), served by an index
// (users_created, users_last_active, users_email_key), so a page deep in the listing
// costs what the first one does.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) (store.UserPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.UserPage{}, err
	}
	ord, ok := userOrders[cmp.Or(f.Order, store.OrderByKey)]
	if !ok {
		return store.UserPage{}, store.Errorf(store.CodeInvalid, "order", "must be one of key, email, created or lastActive")
	}
	after, err := decodeUserCursor(f, f.Cursor)
	if err != nil {
		return store.UserPage{}, err
	}
	query, args := userListQuery(f, ord, after, limit)
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
		last := page.Items[limit-1]
		c := userCursor{Key: last.Key}
		if ord.value != nil {
			c.Value = ord.value(last)
		}
		next := encodeUserCursor(f, c)
		page.Next = &next
	}
	return page, nil
}

// userListQuery is the statement of one page of ListUsers: the keyset condition after
// the cursor, the filters, the order and the limit (one more than the page, to know
// whether another follows).
func userListQuery(f store.UserFilter, ord userOrder, after *userCursor, limit int) (string, []any) {
	var conds []string
	var args []any
	cmpOp, dir := ">", ""
	if f.Desc {
		cmpOp, dir = "<", " DESC"
	}
	switch {
	case after == nil:
	case ord.expr == "":
		conds = append(conds, "u.key "+cmpOp+" ?")
		args = append(args, after.Key)
	default:
		conds = append(conds, "("+ord.expr+", u.key) "+cmpOp+" (?, ?)")
		args = append(args, ord.arg(after.Value), after.Key)
	}
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
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	orderBy := "u.key" + dir
	if ord.expr != "" {
		orderBy = ord.expr + dir + ", u.key" + dir
	}
	return "SELECT " + prefixColumns("u.", userColumns) + " FROM users u" + where + " ORDER BY " + orderBy + " LIMIT ?", args
}

// userOrder is how one store.UserOrder is listed: the SQL expression it orders by
// ("" for the key alone), its value in a user (for the cursor), and that value as a
// query argument again.
type userOrder struct {
	expr  string
	value func(store.User) string
	arg   func(string) any
}

var userOrders = map[store.UserOrder]userOrder{
	store.OrderByKey: {},
	store.OrderByEmail: {
		expr:  "u.email_norm",
		value: func(u store.User) string { return normEmail(u.Email) },
		arg:   func(v string) any { return v },
	},
	store.OrderByCreated: {
		expr:  "u.created_at",
		value: func(u store.User) string { return strconv.FormatInt(micros(u.CreatedAt), 10) },
		arg:   int64Arg,
	},
	store.OrderByLastActive: {
		// COALESCE(last_active_at, 0), a generated column: never active sorts as 0,
		// before everyone who was.
		expr: "u.last_active_order",
		value: func(u store.User) string {
			if u.LastActiveAt == nil {
				return "0"
			}
			return strconv.FormatInt(micros(*u.LastActiveAt), 10)
		},
		arg: int64Arg,
	},
}

func int64Arg(v string) any {
	n, _ := strconv.ParseInt(v, 10, 64) // checked when the cursor was decoded
	return n
}

// userCursor is where an ordered listing resumes: after the user Key whose order value
// is Value. The listing's order and direction travel with it, so a cursor of another
// order is refused instead of skipping users.
type userCursor struct {
	Order store.UserOrder `json:"o,omitempty"`
	Desc  bool            `json:"d,omitempty"`
	Value string          `json:"v,omitempty"`
	Key   string          `json:"k"`
}

// A listing by key in ascending order keeps the cursors it always had (the last key);
// any other order or direction has cursors of its own kind.
const cursorOrderedUsers = "o:"

func encodeUserCursor(f store.UserFilter, c userCursor) string {
	order := cmp.Or(f.Order, store.OrderByKey)
	if order == store.OrderByKey && !f.Desc {
		return encodeCursor(cursorUsers, c.Key)
	}
	c.Order, c.Desc = order, f.Desc
	b, _ := json.Marshal(c)
	return encodeCursor(cursorOrderedUsers, string(b))
}

// decodeUserCursor reads a cursor of f's listing; nil is the first page.
func decodeUserCursor(f store.UserFilter, cursor string) (*userCursor, error) {
	if cursor == "" {
		return nil, nil
	}
	order := cmp.Or(f.Order, store.OrderByKey)
	if order == store.OrderByKey && !f.Desc {
		key, err := decodeCursor(cursorUsers, cursor)
		if err != nil {
			return nil, err
		}
		return &userCursor{Key: key}, nil
	}
	raw, err := decodeCursor(cursorOrderedUsers, cursor)
	if err != nil {
		return nil, err
	}
	var c userCursor
	if json.Unmarshal([]byte(raw), &c) != nil || c.Order != order || c.Desc != f.Desc || c.Key == "" {
		return nil, store.Errorf(store.CodeInvalid, "cursor", msgCursor+" for this order")
	}
	if order == store.OrderByCreated || order == store.OrderByLastActive {
		if _, err := strconv.ParseInt(c.Value, 10, 64); err != nil {
			return nil, store.Errorf(store.CodeInvalid, "cursor", msgCursor)
		}
	}
	return &c, nil
}

// prefixColumns qualifies a comma-separated column list with a table alias.
func prefixColumns(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}
