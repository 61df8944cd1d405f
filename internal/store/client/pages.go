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

// maxPages bounds ListAllUsers and ListAllAudit, so a server that keeps answering
// with a next cursor cannot keep a caller looping forever (1000 pages of up to 1000).
const maxPages = 1000

// ListAllUsers follows the pages of ListUsers from f.Cursor to the end.
func (c *Client) ListAllUsers(ctx context.Context, f store.UserFilter) ([]store.User, error) {
	var all []store.User
	seen := map[string]bool{}
	for range maxPages {
		page, err := c.ListUsers(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Next == nil {
			return all, nil
		}
		if seen[*page.Next] || *page.Next == f.Cursor {
			return nil, store.Errorf(store.CodeInternal, "", "store repeated a page cursor")
		}
		seen[*page.Next] = true
		f.Cursor = *page.Next
	}
	return nil, store.Errorf(store.CodeInternal, "", "more than %d pages of users", maxPages)
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
