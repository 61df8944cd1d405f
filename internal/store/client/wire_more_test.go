package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/client"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
)

// serve runs a real store over HTTP with an admin and a reader token.
func serve(t *testing.T) string {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "store.db"), sqlstore.Options{PublicURL: "http://studio.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tokens := &auth.Tokens{}
	if err := tokens.Add(auth.RoleAdmin, "ops", "admin-tok"); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Add(auth.RoleReader, "dash", "reader-tok"); err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(st, tokens, httpapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func newClient(t *testing.T, url, token string) *client.Client {
	t.Helper()
	c, err := client.New(url, client.Options{Token: token, Manager: "op-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListAllFollowsThePages(t *testing.T) {
	url := serve(t)
	c := newClient(t, url, "admin-tok")
	ctx := context.Background()
	var want []string
	for i := range 5 {
		key := fmt.Sprintf("user-%d", i)
		want = append(want, key)
		if _, _, err := c.PutUser(ctx, store.Caller{}, key, store.UserSpec{Email: key + "@example.com", Type: cascade.UserTypeUser}); err != nil {
			t.Fatal(err)
		}
	}
	users, err := c.ListAllUsers(ctx, store.UserFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range users {
		got = append(got, u.Key)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListAllUsers keys (-want +got):\n%s", diff)
	}
	entries, err := c.ListAllAudit(ctx, store.AuditFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5 || entries[0].Seq != 1 || entries[4].Seq != 5 || entries[0].Actor != "ops" {
		t.Errorf("ListAllAudit = %d entries: %+v", len(entries), entries)
	}
	grants, err := c.ListAllGrants(ctx, store.GrantFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, g := range grants {
		got = append(got, g.User)
		if g.Grants == nil || len(g.Grants) != 0 {
			t.Errorf("grants of %s = %#v, want []", g.User, g.Grants)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListAllGrants users (-want +got):\n%s", diff)
	}
	if _, _, err := c.PutAgency(ctx, store.Caller{}, "acme", store.AgencySpec{}); err != nil {
		t.Fatal(err)
	}
	want = nil
	for i := range 3 {
		key := fmt.Sprintf("ns.env-%d", i)
		want = append(want, key)
		if _, _, err := c.PutEnvironment(ctx, store.Caller{}, key, store.EnvironmentSpec{Agency: "acme"}); err != nil {
			t.Fatal(err)
		}
	}
	envs, err := c.ListAllEnvironments(ctx, store.EnvironmentFilter{Agency: "acme", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, e := range envs {
		got = append(got, e.Key)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListAllEnvironments keys (-want +got):\n%s", diff)
	}
}

func TestErrorsFromTheRealServer(t *testing.T) {
	url := serve(t)
	ctx := context.Background()
	admin := newClient(t, url, "admin-tok")
	cases := map[string]struct {
		call      func() error
		wantCode  store.Code
		wantField string
	}{
		"unknown token": {
			call:     func() error { _, err := newClient(t, url, "nope").GetUser(ctx, "alice"); return err },
			wantCode: store.CodeUnauthorized,
		},
		"no token": {
			call:     func() error { _, err := newClient(t, url, "").GetUser(ctx, "alice"); return err },
			wantCode: store.CodeUnauthorized,
		},
		"reader writes": {
			call: func() error {
				_, _, err := newClient(t, url, "reader-tok").PutAgency(ctx, store.Caller{}, "acme", store.AgencySpec{})
				return err
			},
			wantCode: store.CodeForbidden,
		},
		"invalid email names the field": {
			call: func() error {
				_, _, err := admin.PutUser(ctx, store.Caller{}, "bob", store.UserSpec{Email: "bob", Type: cascade.UserTypeUser})
				return err
			},
			wantCode: store.CodeInvalid, wantField: "email",
		},
		"unknown agency names the field": {
			call: func() error {
				_, _, err := admin.PutEnvironment(ctx, store.Caller{}, "ns.env", store.EnvironmentSpec{Agency: "nope"})
				return err
			},
			wantCode: store.CodeUnknownReference, wantField: "agency",
		},
		"missing user": {
			call:     func() error { _, err := admin.GetAccess(ctx, "nobody"); return err },
			wantCode: store.CodeNotFound,
		},
		"key with a slash is one segment": {
			call:     func() error { _, err := admin.GetUser(ctx, "a/grants"); return err },
			wantCode: store.CodeNotFound,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.call()
			var se *store.Error
			if !errors.As(err, &se) || se.Code != tc.wantCode || se.Field != tc.wantField {
				t.Fatalf("error = %#v, want code %s field %q", err, tc.wantCode, tc.wantField)
			}
			if store.IsTransient(err) {
				t.Error("a client error reported as transient")
			}
		})
	}
}
