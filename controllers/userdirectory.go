package controllers

import (
	"context"
	"sync"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// listPageSize is the largest page the store serves.
const listPageSize = 1000

// userDirectory is a recent listing of the store's users. A resync pass over N users
// then costs N/1000 ListUsers calls instead of N GetUser calls: a user whose listed
// record already matches its spec needs no read of its own. A listed record that does
// not match is never acted on directly — the reconciler reads the user before it
// writes — so a stale listing can delay noticing drift by one refresh, never cause a
// wrong write.
type userDirectory struct {
	api   store.API
	every time.Duration
	now   func() time.Time

	mu       sync.Mutex
	users    map[string]store.User
	listedAt time.Time
}

func newUserDirectory(api store.API, every time.Duration) *userDirectory {
	return &userDirectory{api: api, every: every, now: time.Now}
}

// lookup returns the user as last listed, listing again first when the listing is
// older than the refresh period. ok is false when the user is not listed or the
// store could not be listed; the caller then reads the user itself.
func (d *userDirectory) lookup(ctx context.Context, key string) (store.User, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.users == nil || d.now().Sub(d.listedAt) >= d.every {
		if err := d.refresh(ctx); err != nil {
			return store.User{}, false
		}
	}
	u, ok := d.users[key]
	return u, ok
}

// refresh lists every user; called with mu held, so concurrent reconciles wait for
// one listing instead of each starting their own.
func (d *userDirectory) refresh(ctx context.Context) error {
	started := d.now()
	users := map[string]store.User{}
	f := store.UserFilter{Limit: listPageSize}
	for {
		page, err := d.api.ListUsers(ctx, f)
		if err != nil {
			d.users = nil
			return err
		}
		for _, u := range page.Items {
			users[u.Key] = u
		}
		if page.Next == nil {
			break
		}
		f.Cursor = *page.Next
	}
	d.users, d.listedAt = users, started
	return nil
}

// note records a user as the store just returned it (after a read or a write), so
// the listing does not contradict what the operator knows to be newer.
func (d *userDirectory) note(u store.User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.users != nil {
		d.users[u.Key] = u
	}
}

// forget drops a user whose record the operator just removed.
func (d *userDirectory) forget(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.users, key)
}
