package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/teststore"
	"github.com/studio-operator/studio-operator/internal/store"
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
	d := newUserDirectory(api, time.Minute)
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
	d.note(put("user-0002", "Noted"))
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
	d = newUserDirectory(c, time.Minute)
	if _, ok := d.lookup(ctx, "user-0001"); ok {
		t.Fatal("lookup succeeded without a store")
	}
}
