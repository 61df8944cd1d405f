package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/studio-operator/studio-operator/internal/store"
)

// invite seeds a user with a role and returns the path of its invitation link.
func invite(t *testing.T, e *env) string {
	t.Helper()
	seed(t, e)
	e.do(t, request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: managed(nil),
		body: `{"grants":[{"scope":{"agency":"acme"},"roles":["Operator"]}]}`})
	var inv store.Invitation
	e.do(t, request{method: http.MethodPost, path: "/api/v1/users/alice/invitations", header: managed(nil)}).decode(t, &inv)
	u, err := url.Parse(inv.Link)
	if err != nil || !strings.HasPrefix(u.Path, "/invite/") {
		t.Fatalf("link %q", inv.Link)
	}
	return u.Path
}

func TestInvitationPageAndAccept(t *testing.T) {
	e := newEnv(t)
	link := invite(t, e)

	r := e.do(t, request{method: http.MethodGet, path: link, token: noToken, header: map[string]string{"Accept": "text/html,application/xhtml+xml,*/*"}})
	page := string(r.body)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET link = %d %s", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{`<html lang="en">`, "<main>", `<form method="post" action="./`, "/accept\">", `<button type="submit">`, "Alice", "Acme", "<time datetime="} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if strings.Contains(page, "alice@example.com") {
		t.Error("the page shows the email address")
	}

	var view store.InvitationView
	r = e.do(t, request{method: http.MethodGet, path: link, token: noToken, header: map[string]string{"Accept": "application/json"}})
	r.decode(t, &view)
	if view.State != store.InvitationPending || view.DisplayName != "Alice" || len(view.Agencies) != 1 || view.ExpiresAt.IsZero() {
		t.Errorf("JSON view = %s", r.body)
	}

	// A browser posts the form: empty urlencoded body, HTML answer.
	r = e.do(t, request{method: http.MethodPost, path: link + "/accept", token: noToken,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Welcome, Alice") || !strings.Contains(string(r.body), `<main>`) {
		t.Fatalf("accept = %d %s", r.status, r.body)
	}
	var u store.User
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice"}).decode(t, &u)
	if u.State != store.UserActive {
		t.Errorf("state after accept = %s", u.State)
	}

	// The link is used: both the page and the accept answer 410.
	r = e.do(t, request{method: http.MethodGet, path: link, token: noToken})
	if r.status != http.StatusGone || !strings.Contains(string(r.body), "can no longer be used") || !strings.Contains(string(r.body), `lang="en"`) {
		t.Errorf("used link page = %d %s", r.status, r.body)
	}
	r = e.do(t, request{method: http.MethodPost, path: link + "/accept", token: noToken, header: map[string]string{"Accept": "application/json"}})
	if p := r.problem(t); r.status != http.StatusGone || p.Code != store.CodeInvitationGone {
		t.Errorf("accept a used link = %d %+v", r.status, p)
	}

	// The token never reaches the logs.
	token := strings.TrimPrefix(link, "/invite/")
	if strings.Contains(e.logs.String(), token) {
		t.Error("the invitation token is in the log")
	}
	if !strings.Contains(e.logs.String(), `"route":"GET /invite/{token}"`) {
		t.Errorf("the access log does not name the route pattern:\n%s", e.logs.String())
	}
}

func TestAcceptAsJSON(t *testing.T) {
	e := newEnv(t)
	link := invite(t, e)
	r := e.do(t, request{method: http.MethodPost, path: link + "/accept", token: noToken, header: map[string]string{"Accept": "application/json"}})
	var u store.User
	r.decode(t, &u)
	if r.status != http.StatusOK || u.State != store.UserActive || u.Key != "alice" {
		t.Fatalf("accept = %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "@") {
		t.Errorf("the answer to the link holder carries the email: %s", r.body)
	}
}

func TestReplacedAndUnknownLinks(t *testing.T) {
	e := newEnv(t)
	old := invite(t, e)
	e.do(t, request{method: http.MethodPost, path: "/api/v1/users/alice/invitations", header: managed(nil)})
	r := e.do(t, request{method: http.MethodGet, path: old, token: noToken})
	if r.status != http.StatusGone {
		t.Errorf("replaced link = %d", r.status)
	}
	r = e.do(t, request{method: http.MethodGet, path: "/invite/never-issued", token: noToken})
	if r.status != http.StatusNotFound || !strings.Contains(string(r.body), "not valid") {
		t.Errorf("unknown link = %d %s", r.status, r.body)
	}
	r = e.do(t, request{method: http.MethodGet, path: "/invite/never-issued", token: noToken, header: map[string]string{"Accept": "application/json"}})
	if p := r.problem(t); r.status != http.StatusNotFound || p.Code != store.CodeNotFound {
		t.Errorf("unknown link as JSON = %d %+v", r.status, p)
	}
}
