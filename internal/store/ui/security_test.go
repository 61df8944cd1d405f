package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/studio-operator/studio-operator/internal/store"
)

// TestPagesNeedSignIn: every page but the sign-in form and the assets sends people
// to sign in, and shows no email before.
func TestPagesNeedSignIn(t *testing.T) {
	s := startStudio(t)
	seed(t, s)
	b := newBrowserless(t, s.URL)
	for _, path := range []string{"/ui/", "/ui/users", "/ui/users/ana", "/ui/users/ana/access", "/ui/environments/team-support.webchat", "/ui/audit", "/ui/invite"} {
		p := b.get(path)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/ui/sign-in") {
			t.Errorf("GET %s signed out: %d to %q, want 303 to the sign-in form", path, p.status, p.header.Get("Location"))
		}
		if strings.Contains(p.body, "@example.com") {
			t.Errorf("GET %s signed out shows an email", path)
		}
	}
	if p := b.post("/ui/users/kim/remove", url.Values{"csrf": {"x"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST remove signed out: %d, want 303 to sign in", p.status)
	}
	if p := b.get("/ui/static/app.css"); p.status != http.StatusOK {
		t.Errorf("GET app.css: %d", p.status)
	}
}

// TestSessionCookieAndHeaders: the session cookie is HttpOnly, SameSite=Strict and
// scoped to the pages; the pages forbid inline script and style, framing and caching.
func TestSessionCookieAndHeaders(t *testing.T) {
	s := startStudio(t)
	b := newBrowserless(t, s.URL)
	p := b.signIn(adminToken)
	var session *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "studio_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie after signing in")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/ui/" {
		t.Errorf("session cookie: HttpOnly %v, SameSite %v, Path %q; want HttpOnly, Strict, /ui/", session.HttpOnly, session.SameSite, session.Path)
	}
	if loc := p.header.Get("Location"); strings.Contains(loc, session.Value) || strings.Contains(loc, adminToken) {
		t.Error("the redirect after sign-in carries the session or the token")
	}
	page := b.get("/ui/users")
	csp := page.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := page.header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if strings.Contains(page.body, "<script>") || strings.Contains(page.body, " style=") {
		t.Error("a page has inline script or style")
	}
}

// TestSignInAttemptsAreLimited: wrong tokens get a clear message, then, after a few,
// 429 with Retry-After, even for the right token; a good sign-in elsewhere works.
func TestSignInAttemptsAreLimited(t *testing.T) {
	s := startStudio(t)
	b := newBrowserless(t, s.URL)
	p := b.signIn("wrong")
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "not valid for this store") {
		t.Fatalf("wrong token: %d", p.status)
	}
	limited := false
	for range 10 {
		if p = b.signIn("wrong"); p.status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("ten wrong tokens in a row were not rate-limited")
	}
	if p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many failed sign-ins") {
		t.Errorf("rate-limited answer: Retry-After %q", p.header.Get("Retry-After"))
	}
	if p = b.signIn(adminToken); p.status != http.StatusTooManyRequests {
		t.Errorf("the right token while limited: %d, want 429", p.status)
	}
}

// TestFormsNeedTheirTokens: a form without its CSRF token, with another session's,
// or sent cross-site is refused; a sign-in form without its own token too.
func TestFormsNeedTheirTokens(t *testing.T) {
	s := startStudio(t)
	seed(t, s)
	admin := newBrowserless(t, s.URL)
	admin.mustSignIn(adminToken)
	other := newBrowserless(t, s.URL)
	other.mustSignIn(adminToken)
	otherCSRF := other.csrf(other.get("/ui/users"))
	for name, form := range map[string]url.Values{
		"no token":              {},
		"another session's one": {"csrf": {otherCSRF}},
	} {
		if p := admin.post("/ui/users/kim/remove", form); p.status != http.StatusForbidden {
			t.Errorf("remove with %s: %d, want 403", name, p.status)
		}
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/ui/users/kim/remove", strings.NewReader(url.Values{"csrf": {admin.csrf(admin.get("/ui/users"))}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := admin.do(req); p.status != http.StatusForbidden {
		t.Errorf("cross-site remove: %d, want 403", p.status)
	}
	if u, _ := s.API.GetUser(t.Context(), "kim"); u.State == store.UserRemoved {
		t.Fatal("kim was removed by a refused form")
	}
	fresh := newBrowserless(t, s.URL)
	if p := fresh.post("/ui/sign-in", url.Values{"token": {adminToken}}); p.status != http.StatusForbidden {
		t.Errorf("sign-in without the form's token: %d, want 403", p.status)
	}
}

// TestManagedRecordsAreRefused: the actions refuse a managed record even when the
// form is sent by hand, and say where the truth lives.
func TestManagedRecordsAreRefused(t *testing.T) {
	s := startStudio(t)
	seed(t, s)
	b := newBrowserless(t, s.URL)
	b.mustSignIn(adminToken)
	csrf := b.csrf(b.get("/ui/users"))
	for _, path := range []string{"/ui/users/ana/remove", "/ui/users/ana/invitation-link"} {
		p := b.post(path, url.Values{"csrf": {csrf}})
		if p.status != http.StatusConflict || !strings.Contains(p.body, "StudioUser") {
			t.Errorf("POST %s on a managed user: %d, want 409 naming the StudioUser", path, p.status)
		}
	}
	p := b.post("/ui/invite", url.Values{"csrf": {csrf}, "key": {"ana"}, "email": {"ana2@example.com"}, "type": {"User"}, "locale": {"en"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "managed from Kubernetes") {
		t.Errorf("inviting over a managed user: %d", p.status)
	}
	if u, _ := s.API.GetUser(t.Context(), "ana"); u.State == store.UserRemoved || u.Email != "ana@example.com" {
		t.Errorf("ana changed: %+v", u)
	}
}

// TestNoSecretsInLogsOrURLs: after a session of use, the server's log has no token,
// session id, invitation link, email or search term, and no redirect carries one.
func TestNoSecretsInLogsOrURLs(t *testing.T) {
	s := startStudio(t)
	seed(t, s)
	b := newBrowserless(t, s.URL)
	p := b.signIn(adminToken)
	var sessionID string
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "studio_session" {
			sessionID = c.Value
		}
	}
	b.get("/ui/users?q=pat%40example.com")
	b.get("/ui/users/pat/invitation")
	csrf := b.csrf(b.get("/ui/users/pat/invitation-link"))
	issued := b.post("/ui/users/pat/invitation-link", url.Values{"csrf": {csrf}, "idempotency": {"t1"}})
	link := regexpLink.FindString(issued.body)
	if link == "" {
		t.Fatalf("no link on the issued page (%d)", issued.status)
	}
	if loc := issued.header.Get("Location"); loc != "" {
		t.Errorf("the link page redirects to %q; the link must be in its body only", loc)
	}
	b.post("/ui/sign-out", url.Values{"csrf": {csrf}})
	logs := s.Log.String()
	if !strings.Contains(logs, "route=\"GET /ui/users\"") {
		t.Fatalf("the log has no request lines of the pages:\n%s", logs)
	}
	for name, secret := range map[string]string{"token": adminToken, "session id": sessionID, "link": link, "email": "pat@example.com", "email (escaped)": "pat%40example.com"} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

// TestInviteForm: refusals say what to fix and keep what was entered; the same form
// sent twice sends one invitation; a reader cannot open the form.
func TestInviteForm(t *testing.T) {
	s := startStudio(t)
	seed(t, s)
	b := newBrowserless(t, s.URL)
	b.mustSignIn(adminToken)
	csrf := b.csrf(b.get("/ui/invite"))
	form := func(key, email, scope string, roles ...string) url.Values {
		return url.Values{"csrf": {csrf}, "idempotency": {"form-1"}, "key": {key}, "email": {email}, "displayName": {"Lee"},
			"type": {"User"}, "locale": {"en"}, "scope": {scope}, "roles": roles}
	}
	for name, tc := range map[string]struct {
		form   url.Values
		status int
		says   string
	}{
		"a name Kubernetes refuses": {form("Lee Smith", "lee@example.com", ""), http.StatusUnprocessableEntity, "lower-case letters"},
		"a bad email":               {form("lee", "lee-at-example", ""), http.StatusUnprocessableEntity, "email address"},
		"an email in use":           {form("lee", "ana@example.com", ""), http.StatusConflict, "Another user already has this email address"},
		"roles without a scope":     {form("lee", "lee@example.com", "", "Agent"), http.StatusUnprocessableEntity, "Choose where the roles apply"},
		"an agency role at environment scope": {form("lee", "lee@example.com", "environment:team-support.webchat", "OrganisationManager"),
			http.StatusUnprocessableEntity, "OrganisationManager can only be granted at agency scope"},
		"a role that does not exist": {form("lee", "lee@example.com", "agency:acme", "Supervisor"), http.StatusUnprocessableEntity, "not a role that can be given"},
	} {
		p := b.post("/ui/invite", tc.form)
		if p.status != tc.status || !strings.Contains(p.body, tc.says) {
			t.Errorf("%s: %d, want %d saying %q", name, p.status, tc.status, tc.says)
		}
		if !strings.Contains(p.body, `value="`+tc.form.Get("email")+`"`) {
			t.Errorf("%s: the form lost the email entered", name)
		}
	}
	if _, err := s.API.GetUser(t.Context(), "lee"); !store.IsNotFound(err) {
		t.Fatalf("a refused form created the user: %v", err)
	}
	ok := form("lee", "lee@example.com", "agency:acme", "Analyst")
	first := b.post("/ui/invite", ok)
	again := b.post("/ui/invite", ok)
	if first.status != http.StatusOK || again.status != http.StatusOK {
		t.Fatalf("inviting: %d, then %d", first.status, again.status)
	}
	if l1, l2 := regexpLink.FindString(first.body), regexpLink.FindString(again.body); l1 == "" || l1 != l2 {
		t.Errorf("the same form sent twice showed links %q and %q, want the same one", l1, l2)
	}
	inv, err := s.API.GetInvitation(t.Context(), "lee")
	if err != nil || inv.SendCount != 1 {
		t.Errorf("invitation after the same form twice: %+v, %v; want sent once", inv, err)
	}
	reader := newBrowserless(t, s.URL)
	reader.mustSignIn(readerToken)
	if p := reader.get("/ui/invite"); p.status != http.StatusForbidden {
		t.Errorf("a reader opens the invite form: %d, want 403", p.status)
	}
}
