package client

import (
	"context"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// grantsRequest is the PUT grants body.
type grantsRequest struct {
	Grants []store.Grant `json:"grants"`
}

var emptyRoles = []cascade.Role{}

// maxPages bounds the ListAll helpers, so a server that keeps answering with a next
// cursor cannot keep a caller looping forever (1000 pages of up to 1000).
const maxPages = 1000

// ListAllUsers follows the pages of ListUsers from f.Cursor to the end.
func (c *Client) ListAllUsers(ctx context.Context, f store.UserFilter) ([]store.User, error) {
	return followCursor(f.Cursor, "users", func(cursor string) ([]store.User, *string, error) {
		f.Cursor = cursor
		page, err := c.ListUsers(ctx, f)
		return page.Items, page.Next, err
	})
}

// ListAllGrants follows the pages of ListGrants from f.Cursor to the end: the grant
// sets of every user, by user key.
func (c *Client) ListAllGrants(ctx context.Context, f store.GrantFilter) ([]store.UserGrants, error) {
	return followCursor(f.Cursor, "grant sets", func(cursor string) ([]store.UserGrants, *string, error) {
		f.Cursor = cursor
		page, err := c.ListGrants(ctx, f)
		return page.Items, page.Next, err
	})
}

// ListAllEnvironments follows the pages of ListEnvironments from f.Cursor to the end.
func (c *Client) ListAllEnvironments(ctx context.Context, f store.EnvironmentFilter) ([]store.Environment, error) {
	return followCursor(f.Cursor, "environments", func(cursor string) ([]store.Environment, *string, error) {
		f.Cursor = cursor
		page, err := c.ListEnvironments(ctx, f)
		return page.Items, page.Next, err
	})
}

// ListAllUndeliverable follows the pages of ListUndeliverable from f.Cursor to the
// end: every pending invitation whose mail could not be delivered, by user key.
func (c *Client) ListAllUndeliverable(ctx context.Context, f store.UndeliverableFilter) ([]store.UndeliverableInvitation, error) {
	return followCursor(f.Cursor, "undeliverable invitations", func(cursor string) ([]store.UndeliverableInvitation, *string, error) {
		f.Cursor = cursor
		page, err := c.ListUndeliverable(ctx, f)
		return page.Items, page.Next, err
	})
}

// followCursor reads the pages of a cursor-paged listing from cursor to the end and
// returns their items; what names the items in errors.
func followCursor[T any](cursor, what string, read func(cursor string) ([]T, *string, error)) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	for range maxPages {
		items, next, err := read(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == nil {
			return all, nil
		}
		if seen[*next] || *next == cursor {
			return nil, store.Errorf(store.CodeInternal, "", "store repeated a page cursor")
		}
		seen[*next] = true
		cursor = *next
	}
	return nil, store.Errorf(store.CodeInternal, "", "more than %d pages of %s", maxPages, what)
}

// ListAllAudit follows the pages of ListAudit from f.After to the end.
func (c *Client) ListAllAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	var all []store.AuditEntry
	for range maxPages {
		page, err := c.ListAudit(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Entries...)
		if page.Next == nil {
			return all, nil
		}
		if *page.Next <= f.After {
			return nil, store.Errorf(store.CodeInternal, "", "store did not advance the audit cursor")
		}
		f.After = *page.Next
	}
	return nil, store.Errorf(store.CodeInternal, "", "more than %d pages of audit entries", maxPages)
}
