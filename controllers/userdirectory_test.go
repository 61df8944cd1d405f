package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/storeserver/teststore"
)

// countingAPI counts ListUsers calls on the real store.
type countingAPI struct {
	store.API
	lists int
}

func (c *countingAPI) ListUsers(ctx context.Context, f store.UserFilter) (store.UserPage, error) {
	c.lists++
	return c.API.ListUsers(ctx, f)
}

func TestUserDirectory(t *testing.T) {
	ctx := context.Background()
	st, err := teststore.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := st.Service()
	put := func(key, name string) store.User {
		t.Helper()
		u, _, err := svc.PutUser(ctx, store.Caller{Manager: "m"}, key,
			store.UserSpec{Email: key + "@example.com", DisplayName: name, Type: cascade.UserTypeUser})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for i := range 1005 { // more than one page
		put(fmt.Sprintf("user-%04d", i), "Before")
	}

	api := &countingAPI{API: svc}
	d := newStoreDirectory(api, time.Minute).users
	now := time.Unix(1_000_000, 0)
	d.now = func() time.Time { return now }

	u, ok := d.lookup(ctx, "user-1004")
	if !ok || u.DisplayName != "Before" || api.lists != 2 {
		t.Fatalf("first lookup = %+v, %v after %d list calls; want the user from two pages", u, ok, api.lists)
	}
	if _, ok := d.lookup(ctx, "nobody"); ok || api.lists != 2 {
		t.Fatalf("unknown user found, or listed again (%d calls)", api.lists)
	}

	// A change behind the directory's back shows after the refresh period.
	put("user-0001", "After")
	if u, _ := d.lookup(ctx, "user-0001"); u.DisplayName != "Before" {
		t.Fatalf("listing refreshed early: %+v", u)
	}
	now = now.Add(time.Minute)
	if u, _ := d.lookup(ctx, "user-0001"); u.DisplayName != "After" || api.lists != 4 {
		t.Fatalf("after the period: %+v with %d list calls", u, api.lists)
	}

	// What the operator learns itself is used at once.
	d.note("user-0002", put("user-0002", "Noted"))
	if u, _ := d.lookup(ctx, "user-0002"); u.DisplayName != "Noted" {
		t.Fatalf("noted user = %+v", u)
	}
	d.forget("user-0002")
	if _, ok := d.lookup(ctx, "user-0002"); ok {
		t.Fatal("forgotten user still listed")
	}

	// An unreachable store makes the caller read for itself.
	if err := st.Stop(); err != nil {
		t.Fatal(err)
	}
	c, err := st.Client("m", nil)
	if err != nil {
		t.Fatal(err)
	}
	d = newStoreDirectory(c, time.Minute).users
	if _, ok := d.lookup(ctx, "user-0001"); ok {
		t.Fatal("lookup succeeded without a store")
	}
}

// blockingList is a list function that waits until released, counting its calls.
type blockingList struct {
	calls   atomic.Int32
	release chan struct{}
	fail    atomic.Bool
}

func (b *blockingList) list(ctx context.Context) (map[string]int, error) {
	b.calls.Add(1)
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.fail.Load() {
		return nil, errors.New("store unavailable")
	}
	return map[string]int{"a": 1, "b": int(b.calls.Load())}, nil
}

// A refresh under way holds up nobody who has a copy, and a failed one keeps the
// copy and is not retried at every lookup.
func TestListingRefreshDoesNotSerialise(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := &blockingList{release: make(chan struct{})}
	l := newListing("test", time.Minute, b.list)
	now := time.Unix(1_000_000, 0)
	var mu sync.Mutex
	l.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	// Before the first copy exists, lookups wait for it.
	got := make(chan int, 1)
	go func() { v, _ := l.lookup(ctx, "a"); got <- v }()
	waitFor(t, func() bool { return b.calls.Load() == 1 })
	go func() { v, _ := l.lookup(ctx, "a"); got <- v }()
	b.release <- struct{}{}
	for range 2 {
		if v := <-got; v != 1 {
			t.Fatalf("lookup while listing = %d, want 1", v)
		}
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("%d listings for two concurrent lookups, want 1", n)
	}

	// A due refresh that hangs: other lookups answer from the copy at once.
	advance(time.Minute)
	go func() { v, _ := l.lookup(ctx, "a"); got <- v }()
	waitFor(t, func() bool { return b.calls.Load() == 2 })
	for range 3 {
		if v, ok := l.lookup(ctx, "a"); !ok || v != 1 {
			t.Fatalf("lookup during a hung refresh = %d, %v", v, ok)
		}
	}
	b.fail.Store(true)
	b.release <- struct{}{}
	<-got

	// The failed refresh kept the copy, and is retried only after retryAfter.
	if v, ok := l.lookup(ctx, "b"); !ok || v != 1 {
		t.Fatalf("copy after a failed refresh: b = %d, %v; want the old copy", v, ok)
	}
	if n := b.calls.Load(); n != 2 {
		t.Fatalf("%d listings; a failed refresh was retried at once", n)
	}
	advance(l.retryAfter)
	b.fail.Store(false)
	go func() { v, _ := l.lookup(ctx, "b"); got <- v }()
	b.release <- struct{}{}
	if v := <-got; v != 3 {
		t.Fatalf("b after the retry = %d, want 3 (the new copy)", v)
	}

	// A note made while a refresh runs wins over the copy that refresh read.
	advance(time.Minute)
	go func() { v, _ := l.lookup(ctx, "a"); got <- v }()
	waitFor(t, func() bool { return b.calls.Load() == 4 })
	l.note("b", 42)
	l.forget("a")
	b.release <- struct{}{}
	<-got
	if v, _ := l.lookup(ctx, "b"); v != 42 {
		t.Fatalf("b = %d after a note during the refresh, want 42", v)
	}
	if _, ok := l.lookup(ctx, "a"); ok {
		t.Fatal("a forgotten during the refresh came back with it")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
