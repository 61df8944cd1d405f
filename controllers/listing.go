package controllers

import (
	"context"
	"sync"
	"time"
)

// listing is a recent copy of one kind of store record (users, grant sets,
// environments), read page by page once per refresh period. A resync of N objects
// then costs N/1000 list requests instead of N reads: an object whose listed record
// is as wanted needs no request of its own. A listed record that differs is never
// acted on as a fact — the reconciler then makes its idempotent write, which the
// store turns into a no-op when the listing was merely stale — so staleness can delay
// noticing a change made in the Studio by one refresh, never cause a wrong write.
//
// One caller refreshes at a time, without holding the lock while it pages: the others
// go on with the previous copy (or, before the first copy exists, wait for it). A
// failed refresh keeps the previous copy and is not tried again before retryAfter, so
// a store outage is not answered with one listing per reconcile.
type listing[T any] struct {
	name       string
	list       func(ctx context.Context) (map[string]T, error)
	every      time.Duration
	retryAfter time.Duration
	now        func() time.Time

	mu         sync.Mutex
	items      map[string]T
	listedAt   time.Time
	failedAt   time.Time
	refreshing chan struct{} // closed when the refresh under way ends
	// noted holds what the operator learnt while a refresh was under way; it is laid
	// over the new copy, which may have been read before.
	noted map[string]*T
}

func newListing[T any](name string, every time.Duration, list func(ctx context.Context) (map[string]T, error)) *listing[T] {
	return &listing[T]{name: name, list: list, every: every, retryAfter: min(every, 10*time.Second), now: time.Now}
}

// lookup returns the record as last listed or noted. ok is false when the record is
// not in the copy, or there is no copy (the store could not be listed): the caller
// then asks the store itself.
func (l *listing[T]) lookup(ctx context.Context, key string) (T, bool) {
	l.mu.Lock()
	if l.due() {
		l.refresh(ctx) // unlocks and locks again
	}
	for l.items == nil && l.refreshing != nil {
		wait := l.refreshing
		l.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			var zero T
			return zero, false
		}
		l.mu.Lock()
	}
	defer l.mu.Unlock()
	v, ok := l.items[key]
	return v, ok
}

// due reports whether a refresh should start now; called with mu held.
func (l *listing[T]) due() bool {
	if l.refreshing != nil {
		return false
	}
	now := l.now()
	if !l.failedAt.IsZero() && now.Sub(l.failedAt) < l.retryAfter {
		return false
	}
	return l.items == nil || now.Sub(l.listedAt) >= l.every
}

// refresh lists every record; called with mu held, it releases mu while it pages.
func (l *listing[T]) refresh(ctx context.Context) {
	done := make(chan struct{})
	l.refreshing, l.noted = done, map[string]*T{}
	started := l.now()
	l.mu.Unlock()
	items, err := l.list(ctx)
	l.mu.Lock()
	if err != nil {
		l.failedAt = l.now()
	} else {
		for key, v := range l.noted {
			if v == nil {
				delete(items, key)
			} else {
				items[key] = *v
			}
		}
		l.items, l.listedAt, l.failedAt = items, started, time.Time{}
	}
	l.refreshing, l.noted = nil, nil
	close(done)
}

// note records a record as the store just returned it (after a read or a write), so
// the copy does not contradict what the operator knows to be newer.
func (l *listing[T]) note(key string, v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.items != nil {
		l.items[key] = v
	}
	if l.noted != nil {
		l.noted[key] = &v
	}
}

// forget drops a record the operator just removed or that no object wants any more.
func (l *listing[T]) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.items, key)
	if l.noted != nil {
		l.noted[key] = nil
	}
}

// each calls fn with every record of the current copy (none when there is no copy),
// under the listing's lock: fn must not call the listing.
func (l *listing[T]) each(fn func(key string, v T)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range l.items {
		fn(k, v)
	}
}
