package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
)

// seen is what a recording server saw of one request.
type seen struct {
	Method, Path, RawPath, Query string
	Headers                      map[string]string
	Body                         string
}

var recordedHeaders = []string{"Authorization", "X-Studio-Manager", "X-Studio-On-Behalf-Of", "X-Studio-Source", "Idempotency-Key", "User-Agent", "Content-Type", "X-Studio-Actor"}

func recorder(t *testing.T, answer string) (*httptest.Server, func() seen) {
	var mu sync.Mutex
	var last seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := seen{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.RawQuery, Headers: map[string]string{}, Body: string(b)}
		for _, h := range recordedHeaders {
			if v := r.Header.Get(h); v != "" {
				s.Headers[h] = v
			}
		}
		mu.Lock()
		last = s
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(srv.Close)
	return srv, func() seen { mu.Lock(); defer mu.Unlock(); return last }
}

func TestRequestsOnTheWire(t *testing.T) {
	srv, last := recorder(t, `{}`)
	c, err := New(srv.URL+"/prefix/", Options{Token: "tok", Manager: "instance-a", UserAgent: "studio-operator/test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	caller := store.Caller{Actor: "mallory", OnBehalfOf: "argocd:app", Source: "StudioUser//a@2"}
	base := map[string]string{"Authorization": "Bearer tok", "User-Agent": "studio-operator/test"}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	writeHeaders := map[string]string{"X-Studio-Manager": "instance-a", "X-Studio-On-Behalf-Of": "argocd:app", "X-Studio-Source": "StudioUser//a@2"}
	cases := map[string]struct {
		call func() error
		want seen
	}{
		"PutUser uses the default manager and never sends the actor": {
			call: func() error {
				_, _, err := c.PutUser(ctx, caller, "alice", store.UserSpec{Email: "a@example.com", Type: "User"})
				return err
			},
			want: seen{Method: "PUT", Path: "/prefix/api/v1/users/alice", RawPath: "/prefix/api/v1/users/alice",
				Headers: with(map[string]string{"X-Studio-Manager": "instance-a", "X-Studio-On-Behalf-Of": "argocd:app", "X-Studio-Source": "StudioUser//a@2", "Content-Type": "application/json"}),
				Body:    `{"email":"a@example.com","displayName":"","type":"User","locale":"","suspended":false}`},
		},
		"the caller's manager wins": {
			call: func() error {
				_, _, err := c.PutAgency(ctx, store.Caller{Manager: "instance-b"}, "acme", store.AgencySpec{DisplayName: "Acme"})
				return err
			},
			want: seen{Method: "PUT", Path: "/prefix/api/v1/agencies/acme", RawPath: "/prefix/api/v1/agencies/acme",
				Headers: with(map[string]string{"X-Studio-Manager": "instance-b", "Content-Type": "application/json"}), Body: `{"displayName":"Acme"}`},
		},
		"keys are path-escaped": {
			call: func() error { _, err := c.GetUser(ctx, "a/b c?d"); return err },
			want: seen{Method: "GET", Path: "/prefix/api/v1/users/a/b c?d", RawPath: "/prefix/api/v1/users/a%2Fb%20c%3Fd", Headers: with(nil)},
		},
		"invitations carry the idempotency key": {
			call: func() error { _, err := c.SendInvitation(ctx, caller, "alice", "uid/3"); return err },
			want: seen{Method: "POST", Path: "/prefix/api/v1/users/alice/invitations", RawPath: "/prefix/api/v1/users/alice/invitations",
				Headers: with(map[string]string{"X-Studio-Manager": "instance-a", "X-Studio-On-Behalf-Of": "argocd:app", "X-Studio-Source": "StudioUser//a@2", "Idempotency-Key": "uid/3"})},
		},
		"nil roles are sent as []": {
			call: func() error {
				_, err := c.PutGrants(ctx, caller, "alice", []store.Grant{{Scope: store.Scope{Environment: "ns.env"}}})
				return err
			},
			want: seen{Method: "PUT", Path: "/prefix/api/v1/users/alice/grants", RawPath: "/prefix/api/v1/users/alice/grants",
				Headers: with(map[string]string{"X-Studio-Manager": "instance-a", "X-Studio-On-Behalf-Of": "argocd:app", "X-Studio-Source": "StudioUser//a@2", "Content-Type": "application/json"}),
				Body:    `{"grants":[{"scope":{"environment":"ns.env"},"roles":[]}]}`},
		},
		"list filters become the query": {
			call: func() error {
				_, err := c.ListUsers(ctx, store.UserFilter{Email: "a+b@example.com", Agency: "acme", Limit: 5, Cursor: "c1"})
				return err
			},
			want: seen{Method: "GET", Path: "/prefix/api/v1/users", RawPath: "/prefix/api/v1/users", Query: "agency=acme&cursor=c1&email=a%2Bb%40example.com&limit=5", Headers: with(nil)},
		},
		"grant listing becomes the query": {
			call: func() error {
				_, err := c.ListGrants(ctx, store.GrantFilter{Limit: 500, Cursor: "Zzpx"})
				return err
			},
			want: seen{Method: "GET", Path: "/prefix/api/v1/grants", RawPath: "/prefix/api/v1/grants", Query: "cursor=Zzpx&limit=500", Headers: with(nil)},
		},
		"undeliverable listing becomes the query": {
			call: func() error {
				_, err := c.ListUndeliverable(ctx, store.UndeliverableFilter{Limit: 1, Cursor: "ZDpib2I"})
				return err
			},
			want: seen{Method: "GET", Path: "/prefix/api/v1/invitations/undeliverable", RawPath: "/prefix/api/v1/invitations/undeliverable", Query: "cursor=ZDpib2I&limit=1", Headers: with(nil)},
		},
		"environment filters become the query": {
			call: func() error {
				_, err := c.ListEnvironments(ctx, store.EnvironmentFilter{Agency: "acme", Limit: 3, Cursor: "c2"})
				return err
			},
			want: seen{Method: "GET", Path: "/prefix/api/v1/environments", RawPath: "/prefix/api/v1/environments", Query: "agency=acme&cursor=c2&limit=3", Headers: with(nil)},
		},
		"audit filters become the query": {
			call: func() error {
				_, err := c.ListAudit(ctx, store.AuditFilter{User: "alice", After: 7, Limit: 2})
				return err
			},
			want: seen{Method: "GET", Path: "/prefix/api/v1/audit", RawPath: "/prefix/api/v1/audit", Query: "after=7&limit=2&user=alice", Headers: with(nil)},
		},
		"delete sends the caller": {
			call: func() error { return c.DeleteEnvironment(ctx, caller, "ns.env") },
			want: seen{Method: "DELETE", Path: "/prefix/api/v1/environments/ns.env", RawPath: "/prefix/api/v1/environments/ns.env", Headers: with(writeHeaders)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, last()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOnRequestReportsEveryOperation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"code":"has-dependents","detail":"environments exist"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	type report struct {
		Op   string
		Code store.Code
	}
	var got []report
	c, err := New(srv.URL, Options{OnRequest: func(op string, d time.Duration, err error) {
		if d <= 0 {
			t.Errorf("%s: duration %v", op, d)
		}
		got = append(got, report{op, store.CodeOf(err)})
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _ = c.GetAgency(ctx, "acme")
	err = c.DeleteAgency(ctx, store.Caller{}, "acme")
	if !store.IsCode(err, store.CodeHasDependents) || errors.Unwrap(err) != nil {
		t.Errorf("DeleteAgency = %v", err)
	}
	_, _ = c.VerifyAudit(ctx)
	want := []report{{"GetAgency", ""}, {"DeleteAgency", store.CodeHasDependents}, {"VerifyAudit", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}
