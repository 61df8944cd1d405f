package controllers

import (
	"context"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// listPageSize is the largest page the store serves.
const listPageSize = 1000

// storeDirectory holds the recent listings the reconcilers observe the store through:
// users (profile, state), their grant sets and the environments. Each is refreshed
// once per resync period, so an idle resync of every object costs a few list requests
// in all (see listing).
type storeDirectory struct {
	users        *listing[store.User]
	grants       *listing[[]store.Grant]
	environments *listing[store.Environment]
	// undeliverable are the pending invitations whose email the store gave up
	// delivering, by user: usually none, one request per resync.
	undeliverable *listing[store.UndeliverableInvitation]
}

func newStoreDirectory(api store.API, every time.Duration) *storeDirectory {
	return &storeDirectory{
		users: newListing("users", every, func(ctx context.Context) (map[string]store.User, error) {
			out := map[string]store.User{}
			f := store.UserFilter{Limit: listPageSize}
			return out, pages(ctx, &f.Cursor, func(ctx context.Context) (*string, error) {
				page, err := api.ListUsers(ctx, f)
				for _, u := range page.Items {
					out[u.Key] = u
				}
				return page.Next, err
			})
		}),
		grants: newListing("grants", every, func(ctx context.Context) (map[string][]store.Grant, error) {
			out := map[string][]store.Grant{}
			f := store.GrantFilter{Limit: listPageSize}
			return out, pages(ctx, &f.Cursor, func(ctx context.Context) (*string, error) {
				page, err := api.ListGrants(ctx, f)
				for _, g := range page.Items {
					out[g.User] = g.Grants
				}
				return page.Next, err
			})
		}),
		undeliverable: newListing("undeliverable", every, func(ctx context.Context) (map[string]store.UndeliverableInvitation, error) {
			out := map[string]store.UndeliverableInvitation{}
			f := store.UndeliverableFilter{Limit: listPageSize}
			return out, pages(ctx, &f.Cursor, func(ctx context.Context) (*string, error) {
				page, err := api.ListUndeliverable(ctx, f)
				for _, i := range page.Items {
					out[i.User] = i
				}
				return page.Next, err
			})
		}),
		environments: newListing("environments", every, func(ctx context.Context) (map[string]store.Environment, error) {
			out := map[string]store.Environment{}
			f := store.EnvironmentFilter{Limit: listPageSize}
			return out, pages(ctx, &f.Cursor, func(ctx context.Context) (*string, error) {
				page, err := api.ListEnvironments(ctx, f)
				for _, e := range page.Items {
					out[e.Key] = e
				}
				return page.Next, err
			})
		}),
	}
}

// pages calls next until the store says there is no further page, setting *cursor to
// each page's successor.
func pages(ctx context.Context, cursor *string, next func(context.Context) (*string, error)) error {
	for {
		n, err := next(ctx)
		if err != nil {
			return err
		}
		if n == nil {
			return nil
		}
		*cursor = *n
	}
}

// forgetUser drops what the directory knows of a user whose object is gone.
func (d *storeDirectory) forgetUser(key string) {
	d.users.forget(key)
	d.grants.forget(key)
}
