package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
)

const manager = "instance-a"

func managed(h map[string]string) map[string]string {
	out := map[string]string{httpapi.HeaderManager: manager}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// seed creates agency "acme", environment "team-a.prod" and user "alice".
func seed(t *testing.T, e *env) {
	t.Helper()
	steps := []request{
		{method: http.MethodPut, path: "/api/v1/agencies/acme", json: store.AgencySpec{DisplayName: "Acme"}, header: managed(nil)},
		{method: http.MethodPut, path: "/api/v1/environments/team-a.prod", json: store.EnvironmentSpec{Agency: "acme", DisplayName: "Support bot"}, header: managed(nil)},
		{method: http.MethodPut, path: "/api/v1/users/alice", json: store.UserSpec{Email: "alice@example.com", DisplayName: "Alice", Type: "User", Locale: "en"}, header: managed(nil)},
	}
	for _, s := range steps {
		if r := e.do(t, s); r.status != http.StatusCreated {
			t.Fatalf("%s %s = %d %s", s.method, s.path, r.status, r.body)
		}
	}
}

func TestPutOutcomes(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name        string
		req         request
		wantStatus  int
		wantOutcome string
	}{
		{"agency created", request{method: http.MethodPut, path: "/api/v1/agencies/acme", json: store.AgencySpec{DisplayName: "Acme"}, header: managed(nil)}, http.StatusCreated, "created"},
		{"agency unchanged", request{method: http.MethodPut, path: "/api/v1/agencies/acme", json: store.AgencySpec{DisplayName: "Acme"}, header: managed(nil)}, http.StatusOK, "unchanged"},
		{"agency updated", request{method: http.MethodPut, path: "/api/v1/agencies/acme", json: store.AgencySpec{DisplayName: "Acme Inc."}, header: managed(nil)}, http.StatusOK, "updated"},
		{"environment created", request{method: http.MethodPut, path: "/api/v1/environments/team-a.prod", json: store.EnvironmentSpec{Agency: "acme", DisplayName: "Bot"}, header: managed(nil)}, http.StatusCreated, "created"},
		{"environment unchanged", request{method: http.MethodPut, path: "/api/v1/environments/team-a.prod", json: store.EnvironmentSpec{Agency: "acme", DisplayName: "Bot"}, header: managed(nil)}, http.StatusOK, "unchanged"},
		{"user created", request{method: http.MethodPut, path: "/api/v1/users/alice", json: store.UserSpec{Email: "alice@example.com", DisplayName: "Alice", Type: "User"}, header: managed(nil)}, http.StatusCreated, "created"},
		{"user updated", request{method: http.MethodPut, path: "/api/v1/users/alice", json: store.UserSpec{Email: "alice@example.com", DisplayName: "Alice A.", Type: "User"}, header: managed(nil)}, http.StatusOK, "updated"},
		{"user unchanged", request{method: http.MethodPut, path: "/api/v1/users/alice", json: store.UserSpec{Email: "alice@example.com", DisplayName: "Alice A.", Type: "User"}, header: managed(nil)}, http.StatusOK, "unchanged"},
	}
	// Ordered: each step builds on the previous one.
	for _, tc := range cases {
		r := e.do(t, tc.req)
		if r.status != tc.wantStatus || r.header.Get(httpapi.HeaderOutcome) != tc.wantOutcome {
			t.Errorf("%s: %d %s=%q, want %d %q; body %s", tc.name, r.status, httpapi.HeaderOutcome,
				r.header.Get(httpapi.HeaderOutcome), tc.wantStatus, tc.wantOutcome, r.body)
		}
	}

	var a store.Agency
	e.do(t, request{method: http.MethodGet, path: "/api/v1/agencies/acme", token: readerToken}).decode(t, &a)
	if a.Key != "acme" || a.DisplayName != "Acme Inc." || a.ManagedBy != manager {
		t.Errorf("GET agency = %+v", a)
	}
	var u store.User
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice", token: readerToken}).decode(t, &u)
	want := store.User{Key: "alice", Email: "alice@example.com", DisplayName: "Alice A.", Type: "User", State: store.UserInvited, ManagedBy: manager}
	u.CreatedAt = want.CreatedAt
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("GET user (-want +got):\n%s", diff)
	}
}

func TestDeleteAgencyAndEnvironment(t *testing.T) {
	e := newEnv(t)
	seed(t, e)

	r := e.do(t, request{method: http.MethodDelete, path: "/api/v1/agencies/acme", header: managed(nil)})
	if p := r.problem(t); r.status != http.StatusConflict || p.Code != store.CodeHasDependents {
		t.Fatalf("DELETE agency with environments = %d %+v", r.status, p)
	}
	if r := e.do(t, request{method: http.MethodDelete, path: "/api/v1/environments/team-a.prod", header: managed(nil)}); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("DELETE environment = %d %s", r.status, r.body)
	}
	if r := e.do(t, request{method: http.MethodDelete, path: "/api/v1/agencies/acme", header: managed(nil)}); r.status != http.StatusNoContent {
		t.Fatalf("DELETE agency = %d %s", r.status, r.body)
	}
	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/agencies/acme"})
	if p := r.problem(t); r.status != http.StatusNotFound || p.Code != store.CodeNotFound || p.Status != http.StatusNotFound {
		t.Fatalf("GET deleted agency = %d %+v", r.status, p)
	}
}

func TestListEnvironmentsPages(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	steps := []request{
		{method: http.MethodPut, path: "/api/v1/agencies/globex", json: store.AgencySpec{DisplayName: "Globex"}, header: managed(nil)},
		{method: http.MethodPut, path: "/api/v1/environments/team-a.staging", json: store.EnvironmentSpec{Agency: "acme", DisplayName: "Staging"}, header: managed(nil)},
		{method: http.MethodPut, path: "/api/v1/environments/team-b.prod", json: store.EnvironmentSpec{Agency: "globex"}, header: managed(nil)},
	}
	for _, s := range steps {
		if r := e.do(t, s); r.status != http.StatusCreated {
			t.Fatalf("%s %s = %d %s", s.method, s.path, r.status, r.body)
		}
	}
	var items []store.Environment
	path := "/api/v1/environments?limit=2"
	for range 10 {
		var page store.EnvironmentPage
		r := e.do(t, request{method: http.MethodGet, path: path, token: readerToken})
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.status, r.body)
		}
		r.decode(t, &page)
		items = append(items, page.Items...)
		if page.Next == nil {
			break
		}
		path = "/api/v1/environments?limit=2&cursor=" + *page.Next
	}
	var keys []string
	for _, env := range items {
		keys = append(keys, env.Key)
		var got store.Environment
		e.do(t, request{method: http.MethodGet, path: "/api/v1/environments/" + env.Key, token: readerToken}).decode(t, &got)
		if diff := cmp.Diff(got, env); diff != "" {
			t.Errorf("listed %s differs from GET (-get +list):\n%s", env.Key, diff)
		}
	}
	if diff := cmp.Diff([]string{"team-a.prod", "team-a.staging", "team-b.prod"}, keys); diff != "" {
		t.Errorf("paged keys (-want +got):\n%s", diff)
	}

	var page store.EnvironmentPage
	r := e.do(t, request{method: http.MethodGet, path: "/api/v1/environments?agency=globex", token: readerToken})
	r.decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].Key != "team-b.prod" || page.Next != nil {
		t.Errorf("by agency = %s", r.body)
	}
	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/environments?agency=nope", token: readerToken})
	if !strings.Contains(string(r.body), `"items":[]`) || !strings.Contains(string(r.body), `"next":null`) {
		t.Errorf("empty page must have items [] and next null: %s", r.body)
	}
	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/environments?cursor=bm9wZQ", token: readerToken})
	if p := r.problem(t); r.status != http.StatusUnprocessableEntity || p.Code != store.CodeInvalid || p.Field != "cursor" {
		t.Errorf("bad cursor = %d %+v", r.status, p)
	}
}

func TestStoreErrorsBecomeProblems(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	cases := map[string]struct {
		req        request
		wantStatus int
		wantCode   store.Code
		wantField  string
	}{
		"environment of an unknown agency": {
			req:        request{method: http.MethodPut, path: "/api/v1/environments/team-b.prod", json: store.EnvironmentSpec{Agency: "nope"}, header: managed(nil)},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeUnknownReference, wantField: "agency",
		},
		"email in use": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/alice2", json: store.UserSpec{Email: "alice@example.com", Type: "User"}, header: managed(nil)},
			wantStatus: http.StatusConflict, wantCode: store.CodeEmailInUse,
		},
		"managed by another instance": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/alice", json: store.UserSpec{Email: "alice@example.com", Type: "User"}, header: map[string]string{httpapi.HeaderManager: "instance-b"}},
			wantStatus: http.StatusConflict, wantCode: store.CodeManagedByOther,
		},
		"bad email": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/bob", json: store.UserSpec{Email: "not-an-email", Type: "User"}, header: managed(map[string]string{headerInvalid: "1"})},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "email",
		},
		"unknown user": {
			req:        request{method: http.MethodGet, path: "/api/v1/users/nobody/access"},
			wantStatus: http.StatusNotFound, wantCode: store.CodeNotFound,
		},
		"Supervisor is not assignable": {
			req: request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: managed(map[string]string{headerInvalid: "1"}),
				body: `{"grants":[{"scope":{"agency":"acme"},"roles":["Supervisor"]}]}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "grants[0].roles[0]",
		},
		"grant on an unknown environment": {
			req: request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: managed(nil),
				body: `{"grants":[{"scope":{"environment":"nope.prod"},"roles":["Agent"]}]}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeUnknownReference, wantField: "grants[0].scope.environment",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, tc.req)
			p := r.problem(t)
			if r.status != tc.wantStatus || p.Status != tc.wantStatus || p.Code != tc.wantCode {
				t.Fatalf("= %d %+v, want %d %s", r.status, p, tc.wantStatus, tc.wantCode)
			}
			if tc.wantField != "" && p.Field != tc.wantField {
				t.Errorf("field = %q, want %q", p.Field, tc.wantField)
			}
			if p.Type != "https://studio-operator.io/problems/"+string(tc.wantCode) || p.Title == "" || p.Detail == "" {
				t.Errorf("problem members incomplete: %+v", p)
			}
		})
	}
}

func TestCallerHeadersReachTheAudit(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, request{method: http.MethodPut, path: "/api/v1/agencies/acme", json: store.AgencySpec{DisplayName: "Acme"},
		header: managed(map[string]string{
			httpapi.HeaderOnBehalfOf: "argocd:studio",
			httpapi.HeaderSource:     "Agency//acme@3",
			// A client cannot claim an actor: there is no such header, and the
			// token's subject is used.
			"X-Studio-Actor": "mallory",
		})})
	if r.status != http.StatusCreated {
		t.Fatalf("PUT agency = %d %s", r.status, r.body)
	}
	var page store.AuditPage
	e.do(t, request{method: http.MethodGet, path: "/api/v1/audit?agency=acme", token: readerToken}).decode(t, &page)
	if len(page.Entries) != 1 {
		t.Fatalf("audit entries = %+v", page.Entries)
	}
	got := page.Entries[0]
	if got.Actor != adminSubject || got.OnBehalfOf != "argocd:studio" || got.Source != "Agency//acme@3" || got.Action != store.ActionAgencyUpserted {
		t.Errorf("audit entry = %+v", got)
	}
	var v store.AuditVerification
	e.do(t, request{method: http.MethodGet, path: "/api/v1/audit/verify", token: readerToken}).decode(t, &v)
	if !v.OK || v.Entries != 1 {
		t.Errorf("verify = %+v", v)
	}
}
