package ui_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browserless is a cookie-keeping HTTP client of the pages, for what needs no
// browser: headers, refusals, the sign-in limits.
type browserless struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowserless(t *testing.T, base string) *browserless {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browserless{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is one answer, its body read.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browserless) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browserless) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form, as a browser does from the page itself.
func (b *browserless) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

var hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF value of the first form of p.
func (b *browserless) csrf(p page) string {
	b.t.Helper()
	m := hiddenCSRF.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no CSRF field in the page (status %d)", p.status)
	}
	return m[1]
}

// signIn signs in with token and returns the answer to the sign-in form.
func (b *browserless) signIn(token string) page {
	b.t.Helper()
	form := b.get("/ui/sign-in")
	return b.post("/ui/sign-in", url.Values{"csrf": {b.csrf(form)}, "token": {token}, "next": {"/ui/users"}})
}

func (b *browserless) mustSignIn(token string) {
	b.t.Helper()
	if p := b.signIn(token); p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/users" {
		b.t.Fatalf("sign-in answered %d (Location %q), want 303 to /ui/users", p.status, p.header.Get("Location"))
	}
}

// regexpLink finds an invitation link in a page.
var regexpLink = regexp.MustCompile(`http://127\.0\.0\.1:\d+/invite/[A-Za-z0-9_-]+`)
