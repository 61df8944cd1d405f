package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
)

func TestGrantsAndAccess(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	body := `{"grants":[{"scope":{"agency":"acme"},"roles":["Operator","Analyst"]},{"scope":{"environment":"team-a.prod"},"roles":[]}]}`
	var set store.GrantSet
	r := e.do(t, request{method: http.MethodPut, path: "/api/v1/users/alice/grants", body: body, header: managed(nil)})
	if r.status != http.StatusOK {
		t.Fatalf("PUT grants = %d %s", r.status, r.body)
	}
	r.decode(t, &set)
	want := store.GrantSet{Changed: true, Grants: []store.Grant{
		{Scope: store.Scope{Agency: "acme"}, Roles: []cascade.Role{cascade.Analyst, cascade.Operator}},
		{Scope: store.Scope{Environment: "team-a.prod"}, Roles: []cascade.Role{}},
	}}
	if diff := cmp.Diff(want, set); diff != "" {
		t.Errorf("PUT grants (-want +got):\n%s", diff)
	}
	// The empty environment grant must travel as [], not null: it blocks inheritance.
	if !strings.Contains(string(r.body), `"roles":[]`) {
		t.Errorf("empty roles not sent as []: %s", r.body)
	}

	r = e.do(t, request{method: http.MethodPut, path: "/api/v1/users/alice/grants", body: body, header: managed(nil)})
	r.decode(t, &set)
	if set.Changed {
		t.Error("repeating PUT grants reported a change")
	}
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice/grants", token: readerToken}).decode(t, &set)
	want.Changed = false
	if diff := cmp.Diff(want, set); diff != "" {
		t.Errorf("GET grants (-want +got):\n%s", diff)
	}

	// The environment grant blocks the agency roles: no access at all.
	var access store.Access
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice/access", token: readerToken}).decode(t, &access)
	if diff := cmp.Diff(store.Access{Environments: []store.EnvironmentAccess{}}, access); diff != "" {
		t.Errorf("access with a blocking grant (-want +got):\n%s", diff)
	}

	e.do(t, request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: managed(nil),
		body: `{"grants":[{"scope":{"agency":"acme"},"roles":["Operator"]},{"scope":{"environment":"team-a.prod"},"roles":["Agent"]}]}`})
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice/access", token: readerToken}).decode(t, &access)
	wantAccess := store.Access{Environments: []store.EnvironmentAccess{{
		Environment: "team-a.prod", Agency: "acme", Roles: []cascade.Role{cascade.Agent}, Source: cascade.SourceEnvironment,
		Capabilities: []cascade.Capability{cascade.InboxReply, cascade.Notify}, Notify: true,
	}}}
	if diff := cmp.Diff(wantAccess, access); diff != "" {
		t.Errorf("access (-want +got):\n%s", diff)
	}
}

func TestListUsersPages(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	for i := range 4 {
		r := e.do(t, request{method: http.MethodPut, path: fmt.Sprintf("/api/v1/users/u%d", i),
			json: store.UserSpec{Email: fmt.Sprintf("u%d@example.com", i), Type: "User"}, header: managed(nil)})
		if r.status != http.StatusCreated {
			t.Fatalf("PUT user = %d %s", r.status, r.body)
		}
	}
	var keys []string
	path := "/api/v1/users?limit=2"
	for range 10 {
		var page store.UserPage
		e.do(t, request{method: http.MethodGet, path: path, token: readerToken}).decode(t, &page)
		for _, u := range page.Items {
			keys = append(keys, u.Key)
		}
		if page.Next == nil {
			break
		}
		path = "/api/v1/users?limit=2&cursor=" + *page.Next
	}
	if diff := cmp.Diff([]string{"alice", "u0", "u1", "u2", "u3"}, keys); diff != "" {
		t.Errorf("paged keys (-want +got):\n%s", diff)
	}

	var page store.UserPage
	r := e.do(t, request{method: http.MethodGet, path: "/api/v1/users?email=u2%40example.com", token: readerToken})
	r.decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].Key != "u2" || page.Next != nil {
		t.Errorf("by email = %s", r.body)
	}
	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/users?environment=nope.prod", token: readerToken})
	if !strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("empty page must have items []: %s", r.body)
	}
}

func TestListGrantsPages(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	for _, k := range []string{"bob", "carol", "dave"} {
		r := e.do(t, request{method: http.MethodPut, path: "/api/v1/users/" + k,
			json: store.UserSpec{Email: k + "@example.com", Type: "User"}, header: managed(nil)})
		if r.status != http.StatusCreated {
			t.Fatalf("PUT user = %d %s", r.status, r.body)
		}
	}
	e.do(t, request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: managed(nil),
		body: `{"grants":[{"scope":{"environment":"team-a.prod"},"roles":[]},{"scope":{"agency":"acme"},"roles":["Operator","Analyst"]}]}`})
	e.do(t, request{method: http.MethodPut, path: "/api/v1/users/carol/grants", header: managed(nil),
		body: `{"grants":[{"scope":{"environment":"team-a.prod"},"roles":["Agent"]}]}`})
	e.do(t, request{method: http.MethodDelete, path: "/api/v1/users/dave", header: managed(nil)})
	// A second environment, for a cursor of listEnvironments.
	e.do(t, request{method: http.MethodPut, path: "/api/v1/environments/team-a.staging", json: store.EnvironmentSpec{Agency: "acme"}, header: managed(nil)})

	var items []store.UserGrants
	var bodies []string
	path := "/api/v1/grants?limit=2"
	for range 10 {
		var page store.GrantPage
		r := e.do(t, request{method: http.MethodGet, path: path, token: readerToken})
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.status, r.body)
		}
		r.decode(t, &page)
		bodies = append(bodies, string(r.body))
		items = append(items, page.Items...)
		if page.Next == nil {
			break
		}
		path = "/api/v1/grants?limit=2&cursor=" + *page.Next
	}
	want := []store.UserGrants{
		{User: "alice", Grants: []store.Grant{
			{Scope: store.Scope{Agency: "acme"}, Roles: []cascade.Role{cascade.Analyst, cascade.Operator}},
			{Scope: store.Scope{Environment: "team-a.prod"}, Roles: []cascade.Role{}},
		}},
		{User: "bob", Grants: []store.Grant{}},
		{User: "carol", Grants: []store.Grant{{Scope: store.Scope{Environment: "team-a.prod"}, Roles: []cascade.Role{cascade.Agent}}}},
		{User: "dave", Grants: []store.Grant{}},
	}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("paged grant sets (-want +got):\n%s", diff)
	}
	if len(bodies) != 2 {
		t.Fatalf("4 users in pages of 2 took %d pages", len(bodies))
	}
	// Empty sets and blocks travel as [], never null; the last page's next is null.
	if !strings.Contains(bodies[0], `"roles":[]`) || !strings.Contains(bodies[0], `{"user":"bob","grants":[]}`) ||
		!strings.Contains(bodies[1], `{"user":"dave","grants":[]}`) || !strings.Contains(bodies[1], `"next":null`) {
		t.Errorf("pages = %s", bodies)
	}

	for name, path := range map[string]string{
		"bad cursor":       "/api/v1/grants?cursor=not-a-cursor",
		"users cursor":     "/api/v1/grants?cursor=" + firstUsersCursor(t, e),
		"grants cursor":    "/api/v1/users?cursor=" + firstGrantsCursor(t, e),
		"env cursor":       "/api/v1/grants?cursor=" + firstEnvironmentsCursor(t, e),
		"cursor for users": "/api/v1/environments?cursor=" + firstUsersCursor(t, e),
	} {
		r := e.do(t, request{method: http.MethodGet, path: path, token: readerToken})
		if p := r.problem(t); r.status != http.StatusUnprocessableEntity || p.Code != store.CodeInvalid || p.Field != "cursor" {
			t.Errorf("%s: = %d %+v, want 422 invalid cursor", name, r.status, p)
		}
	}
}

func firstUsersCursor(t *testing.T, e *env) string {
	t.Helper()
	var page store.UserPage
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users?limit=1", token: readerToken}).decode(t, &page)
	if page.Next == nil {
		t.Fatal("users fit on a page of 1")
	}
	return *page.Next
}

func firstGrantsCursor(t *testing.T, e *env) string {
	t.Helper()
	var page store.GrantPage
	e.do(t, request{method: http.MethodGet, path: "/api/v1/grants?limit=1", token: readerToken}).decode(t, &page)
	if page.Next == nil {
		t.Fatal("grant sets fit on a page of 1")
	}
	return *page.Next
}

func firstEnvironmentsCursor(t *testing.T, e *env) string {
	t.Helper()
	var page store.EnvironmentPage
	e.do(t, request{method: http.MethodGet, path: "/api/v1/environments?limit=1", token: readerToken}).decode(t, &page)
	if page.Next == nil {
		t.Fatal("environments fit on a page of 1")
	}
	return *page.Next
}

func TestRemoveUser(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	e.do(t, request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: managed(nil),
		body: `{"grants":[{"scope":{"agency":"acme"},"roles":["Operator"]}]}`})
	r := e.do(t, request{method: http.MethodDelete, path: "/api/v1/users/alice", header: managed(nil)})
	var u store.User
	r.decode(t, &u)
	if r.status != http.StatusOK || u.State != store.UserRemoved || u.Key != "alice" {
		t.Fatalf("DELETE user = %d %s", r.status, r.body)
	}
	var set store.GrantSet
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice/grants"}).decode(t, &set)
	if len(set.Grants) != 0 {
		t.Errorf("grants after removal = %+v", set.Grants)
	}
}

func TestActivity(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	r := e.do(t, request{method: http.MethodPost, path: "/api/v1/users/alice/activity"})
	var u store.User
	r.decode(t, &u)
	if r.status != http.StatusOK || u.State != store.UserActive || u.LastActiveAt == nil {
		t.Fatalf("POST activity = %d %s", r.status, r.body)
	}
}

func TestSendInvitationIsIdempotent(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	send := func(key string) (store.Invitation, response) {
		r := e.do(t, request{method: http.MethodPost, path: "/api/v1/users/alice/invitations", header: managed(map[string]string{httpapi.HeaderIdempotencyKey: key})})
		if r.status != http.StatusOK {
			t.Fatalf("POST invitations = %d %s", r.status, r.body)
		}
		var inv store.Invitation
		r.decode(t, &inv)
		return inv, r
	}
	first, r := send("uid-1/0")
	if first.State != store.InvitationPending || !strings.HasPrefix(first.Link, e.srv.URL+"/invite/") || first.SendCount != 1 {
		t.Fatalf("first invitation = %+v", first)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Error("an answer with a link must not be cached")
	}
	again, _ := send("uid-1/0")
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("replay with the same key (-first +again):\n%s", diff)
	}
	resent, _ := send("uid-1/1")
	if resent.Link == first.Link || resent.SendCount != 2 {
		t.Errorf("re-send = %+v", resent)
	}

	var got store.Invitation
	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice/invitation", token: readerToken})
	r.decode(t, &got)
	if got.Link != "" || strings.Contains(string(r.body), "/invite/") || got.State != store.InvitationPending || got.SendCount != 2 {
		t.Errorf("GET invitation = %s", r.body)
	}
}
