package ui_test

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/studio-operator/studio-operator/internal/store"
)

// The browser suite drives headless Chromium (Debian's chromium package, provisioned
// by hack/ensure-chromium.sh, which `make test` runs) against a real studio-store
// with the sample organisation. It fails, and does not skip, without Chromium.

// axeSource is axe-core (testdata/axe-core/README.md), injected into every page.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// screenshotsEnv names a directory: when set, the suite saves its screenshots there
// (`make ui-screenshots` sets it to docs/images).
const screenshotsEnv = "STUDIO_UI_SCREENSHOTS"

// browserBudget bounds the whole suite; each wait inside it is bounded too.
const (
	browserBudget = 90 * time.Second
	waitBudget    = 10 * time.Second
)

// chromiumPath finds the browser: $CHROMIUM_PATH, else the usual names on PATH.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the browser tests need Chromium and none was found (chromium, chromium-browser, google-chrome on PATH, or $CHROMIUM_PATH): " +
		"run hack/ensure-chromium.sh (make test does), or install it, e.g. apt-get install chromium")
	return ""
}

// browser is one Chromium tab on the test store.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.WindowSize(1440, 900),
		chromedp.Flag("lang", "en-GB"),
	)
	budget, cancelBudget := context.WithTimeout(context.Background(), browserBudget)
	alloc, cancelAlloc := chromedp.NewExecAllocator(budget, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelBudget()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900)); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: base, shot: os.Getenv(screenshotsEnv)}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitBudget)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

// js evaluates expr in the page and decodes its value.
func js[T any](b *browser, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitBudget)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		b.t.Fatalf("evaluating %.80q: %v", expr, err)
	}
	return v
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	return v
}

// open loads path and waits for the page.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady("body"))
}

// click clicks the element and waits until the page at path has loaded.
func (b *browser) click(css, path string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(css)))
	b.waitPath(path)
}

// submit clicks a form's button and waits for an element of the answer: the answer
// may have the same path as the form.
func (b *browser) submit(css, marker string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(css)), chromedp.WaitVisible(chromedp.CSS(marker)))
}

// waitPath waits until the page shown is path and has loaded; the query counts only
// when path has one.
func (b *browser) waitPath(path string) {
	b.t.Helper()
	deadline := time.Now().Add(waitBudget)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(location.pathname + (%q.includes("?") ? location.search : "")) === %q && document.readyState === "complete"`, path, path)))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("the browser did not reach %s; it shows %s", path, b.location())
}

func (b *browser) text(css string) string {
	b.t.Helper()
	return js[string](b, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent.replace(/\s+/g, " ").trim()`, css))
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkA11y runs axe-core on the page and fails on serious or critical violations.
func (b *browser) checkA11y(name string) {
	b.t.Helper()
	if !js[bool](b, `typeof axe !== "undefined"`) {
		js[chromedp.Void](b, axeSource)
	}
	violations := js[[]axeViolation](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`, chromedp.EvalAwaitPromise)
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: accessibility: %s (%s, %s) at %v", name, v.Help, v.ID, v.Impact, v.Nodes)
		} else {
			b.t.Logf("%s: accessibility (%s): %s (%s) at %v", name, v.Impact, v.Help, v.ID, v.Nodes)
		}
	}
}

// screenshot saves the page as name.png when screenshots are asked for.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if b.shot == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, waitBudget)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(b.shot, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, "ui-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs in through the form, typing the token.
func (b *browser) signIn(token string) {
	b.t.Helper()
	b.open("/ui/sign-in")
	b.do(chromedp.SendKeys(chromedp.ID("token"), token))
	b.click("#sign-in", "/ui/users")
}

func (b *browser) signOut() {
	b.t.Helper()
	b.click("#sign-out", "/ui/sign-in")
}

// fetchStatus posts a form from the page with fetch, as a script of the page could,
// and returns the status.
func (b *browser) fetchStatus(path string, form map[string]string) int {
	b.t.Helper()
	body := "new URLSearchParams({"
	for k, v := range form {
		body += fmt.Sprintf("%q: %q,", k, v)
	}
	body += "})"
	return js[int](b, fmt.Sprintf(`fetch(%q, {method: "POST", body: %s, redirect: "manual"}).then(r => r.status)`, path, body), chromedp.EvalAwaitPromise)
}

func TestBrowser(t *testing.T) {
	s := startStudio(t)
	links := seed(t, s)
	b := newBrowser(t, s.URL)
	ctx := context.Background()

	t.Run("sign-in refuses a wrong token with a clear message", func(t *testing.T) {
		b.t = t
		b.open("/ui/users")
		b.waitPath("/ui/sign-in")
		b.checkA11y("sign-in")
		b.screenshot("sign-in")
		b.do(chromedp.SendKeys(chromedp.ID("token"), "not-a-token"))
		b.submit("#sign-in", "#sign-in-error")
		if msg := b.text("#sign-in-error"); !strings.Contains(msg, "not valid") {
			t.Errorf("wrong token: message %q", msg)
		}
		b.checkA11y("sign-in with an error")
	})

	t.Run("overview lists the users with their environment counts", func(t *testing.T) {
		b.t = t
		b.signIn(adminToken)
		b.checkA11y("users")
		b.screenshot("users")
		type row struct {
			User  string `json:"user"`
			Count int    `json:"count"`
		}
		rows := js[[]row](b, `[...document.querySelectorAll("#users-table tbody tr[data-user]")].map(tr => ({
			user: tr.dataset.user, count: Number(tr.querySelector(".env-count").dataset.count)}))`)
		var want []string
		for _, u := range append(slices.Clone(sampleUsers), studioUsers...) {
			want = append(want, u.key)
		}
		slices.Sort(want)
		var got []string
		for _, r := range rows {
			got = append(got, r.User)
			access, err := s.API.GetAccess(ctx, r.User)
			if err != nil {
				t.Fatal(err)
			}
			if r.Count != len(access.Environments) {
				t.Errorf("%s: the overview counts %d environments, GET /access has %d", r.User, r.Count, len(access.Environments))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("overview lists %v, want %v", got, want)
		}
	})

	t.Run("search, filter and sort", func(t *testing.T) {
		b.t = t
		b.do(chromedp.SendKeys(chromedp.ID("q"), "analyst"))
		b.click("#apply-filters", "/ui/users?q=analyst")
		if got := js[[]string](b, `[...document.querySelectorAll("#users-table tbody tr[data-user]")].map(tr => tr.dataset.user)`); !slices.Equal(got, []string{"ana"}) {
			t.Errorf("search for analyst lists %v, want [ana]", got)
		}
		b.open("/ui/users?environment=team-support.webchat")
		if got := js[[]string](b, `[...document.querySelectorAll("#users-table tbody tr[data-user]")].map(tr => tr.dataset.user)`); !slices.Equal(got, []string{"alex", "ana", "diego", "kim", "olivia", "pat"}) {
			t.Errorf("environment filter lists %v, want everyone who can access webchat", got)
		}
		b.open("/ui/users?state=Suspended")
		if got := js[[]string](b, `[...document.querySelectorAll("#users-table tbody tr[data-user]")].map(tr => tr.dataset.user)`); !slices.Equal(got, []string{"sam"}) {
			t.Errorf("state filter lists %v, want [sam]", got)
		}
		b.open("/ui/users?sort=name&dir=desc")
		got := js[[]string](b, `[...document.querySelectorAll("#users-table tbody tr[data-user]")].map(tr => tr.dataset.user)`)
		if len(got) == 0 || got[0] != "sofia" {
			t.Errorf("name descending starts with %v, want sofia", got)
		}
		if sort := js[string](b, `document.querySelector("th[aria-sort]").getAttribute("aria-sort")`); sort != "descending" {
			t.Errorf("aria-sort = %q, want descending", sort)
		}
		b.checkA11y("users, sorted")

		// Sorting orders everyone in the store's order, not the rows of one page: the
		// overview by last activity, most recent first, is the store's listing so.
		b.click(`th a[href*="sort=lastActive"]`, "/ui/users?sort=lastActive")
		b.click(`th a[href*="sort=lastActive"]`, "/ui/users?dir=desc&sort=lastActive")
		listing, err := s.API.ListUsers(ctx, store.UserFilter{Order: store.OrderByLastActive, Desc: true})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, u := range listing.Items {
			want = append(want, u.Key)
		}
		if got := js[[]string](b, `[...document.querySelectorAll("#users-table tbody tr[data-user]")].map(tr => tr.dataset.user)`); !slices.Equal(got, want) || want[0] != "diego" {
			t.Errorf("last active, most recent first, lists %v; the store lists %v (diego, the one active user, first)", got, want)
		}
	})

	t.Run("the access tab matches GET /access", func(t *testing.T) {
		b.t = t
		b.open("/ui/users")
		b.click(`tr[data-user="diego"] th a`, "/ui/users/diego")
		b.checkA11y("user details")
		b.click("#tab-access", "/ui/users/diego/access")
		b.checkA11y("user access")
		b.screenshot("user-access")
		type row struct {
			Env, Roles, Source string
			Notify             string
		}
		rows := js[[]row](b, `[...document.querySelectorAll("#access-table tbody tr")].map(tr => ({
			Env: tr.dataset.environment, Roles: tr.querySelector(".roles").textContent.trim(),
			Source: tr.querySelector("[data-source]").dataset.source, Notify: tr.querySelector("[data-notify]").dataset.notify}))`)
		access, err := s.API.GetAccess(ctx, "diego")
		if err != nil {
			t.Fatal(err)
		}
		var want []row
		for _, a := range access.Environments {
			roles := make([]string, len(a.Roles))
			for i, r := range a.Roles {
				roles[i] = string(r)
			}
			want = append(want, row{Env: a.Environment, Roles: strings.Join(roles, ", "), Source: string(a.Source), Notify: fmt.Sprint(a.Notify)})
		}
		if !slices.Equal(rows, want) {
			t.Errorf("access tab shows %+v, GET /access says %+v", rows, want)
		}
	})

	t.Run("the audit tab matches GET /audit?user=, newest first", func(t *testing.T) {
		b.t = t
		b.click("#tab-audit", "/ui/users/diego/audit")
		b.checkA11y("user audit")
		got := js[[]int64](b, `[...document.querySelectorAll("#audit-table tbody tr")].map(tr => Number(tr.dataset.seq))`)
		page, err := s.API.ListAudit(ctx, store.AuditFilter{User: "diego"})
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, e := range page.Entries {
			want = append(want, e.Seq)
		}
		slices.Reverse(want)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("audit tab shows entries %v, GET /audit?user=diego has %v (newest first)", got, want)
		}
		if actor := b.text(`#audit-table tbody tr:last-child td:nth-child(5)`); actor != "admin" {
			t.Errorf("first entry's actor %q, want admin", actor)
		}
		if obo := b.text(`#audit-table tbody tr:last-child td:nth-child(6)`); obo != "argocd:acme" {
			t.Errorf("first entry's on behalf of %q, want argocd:acme", obo)
		}
	})

	t.Run("a managed user's actions are disabled and say where the truth lives", func(t *testing.T) {
		b.t = t
		b.click("#tab-details", "/ui/users/diego")
		if !js[bool](b, `document.querySelector("#remove-user").disabled && document.querySelector("#invitation-link").disabled`) {
			t.Error("a managed user's remove and invitation-link buttons are not disabled")
		}
		if why := b.text("#actions-why"); why != "Managed from Kubernetes by instance default — change StudioUser diego." {
			t.Errorf("managed note %q", why)
		}
		if cmd := js[string](b, `document.querySelector("#cmd-remove").value`); cmd != "kubectl delete studiouser diego" {
			t.Errorf("kubectl command %q", cmd)
		}
		b.checkA11y("managed user")
		b.screenshot("user-managed")
	})

	t.Run("each row has the Studio's actions, disabled where the truth lives elsewhere", func(t *testing.T) {
		b.t = t
		b.open("/ui/users")
		type rowActions struct {
			Access, Link, Remove, Why string
		}
		actionsOf := func(user string) rowActions {
			return js[rowActions](b, `(() => {
				const td = document.querySelector('#users-table tr[data-user="`+user+`"] td.row-actions');
				const a = name => { const el = td.querySelector('a[data-action="' + name + '"]'); return el ? el.getAttribute("href") : ""; };
				const off = td.querySelector('.icon.disabled');
				return {access: a("access"), link: a("link"), remove: a("remove"), why: off ? off.title : ""};
			})()`)
		}
		if got := actionsOf("diego"); got.Access != "/ui/users/diego/access" || got.Link != "" || got.Remove != "" ||
			!strings.Contains(got.Why, "Managed from Kubernetes by instance default") || !strings.Contains(got.Why, "StudioUser diego") {
			t.Errorf("a managed user's row actions: %+v", got)
		}
		if got := actionsOf("pat"); got.Link != "/ui/users/pat/invitation-link" || got.Remove != "/ui/users/pat/remove" || got.Why != "" {
			t.Errorf("an unmanaged user's row actions: %+v", got)
		}
		// The icons lead to the confirmation, never straight to the action.
		b.click(`#users-table tr[data-user="pat"] a[data-action="remove"]`, "/ui/users/pat/remove")
		if h := b.text("h1"); !strings.Contains(h, "Remove") || !strings.Contains(h, "pat") {
			t.Errorf("the remove icon leads to %q, want the confirmation", h)
		}
		if u, _ := s.API.GetUser(ctx, "pat"); u.State == store.UserRemoved {
			t.Error("the remove icon removed pat without a confirmation")
		}
		b.open("/ui/users")
		b.click(`#users-table tr[data-user="diego"] a[data-action="access"]`, "/ui/users/diego/access")
		b.checkA11y("users, row actions")
	})

	t.Run("an unmanaged user can be invited", func(t *testing.T) {
		b.t = t
		b.open("/ui/users")
		b.click("#invite-user", "/ui/invite")
		b.checkA11y("invite form")
		b.do(
			chromedp.SendKeys(chromedp.ID("key"), "lee"),
			chromedp.SendKeys(chromedp.ID("email"), "lee@example.com"),
			chromedp.SendKeys(chromedp.ID("displayName"), "Lee Newcomer"),
			chromedp.SetValue(chromedp.ID("scope"), "environment:team-support.whatsapp"),
			chromedp.Click(chromedp.CSS(`input[name="roles"][value="Agent"]`)),
		)
		b.submit("#send-invitation", "#invitation-url")
		b.checkA11y("invitation link")
		link := js[string](b, `document.querySelector("#invitation-url").value`)
		if !strings.HasPrefix(link, s.URL+"/invite/") {
			t.Fatalf("invitation link %q", link)
		}
		u, err := s.API.GetUser(ctx, "lee")
		if err != nil {
			t.Fatal(err)
		}
		if u.ManagedBy != "" || u.State != store.UserInvited {
			t.Errorf("lee: managedBy %q, state %s; want none and Invited", u.ManagedBy, u.State)
		}
		access, err := s.API.GetAccess(ctx, "lee")
		if err != nil || len(access.Environments) != 1 || !access.Environments[0].Notify {
			t.Errorf("lee's access %+v (%v), want notified on team-support.whatsapp", access, err)
		}
		wantAudit(t, s, "lee", store.ActionInvitationSent)
		if status := linkStatus(t, link); status != 200 {
			t.Errorf("the new link answers %d, want 200", status)
		}
	})

	t.Run("a fresh invitation link replaces the old one", func(t *testing.T) {
		b.t = t
		b.open("/ui/users/pat/invitation")
		b.click("#invitation-link", "/ui/users/pat/invitation-link")
		b.checkA11y("confirm invitation link")
		b.submit("#confirm", "#invitation-url")
		link := js[string](b, `document.querySelector("#invitation-url").value`)
		if link == links["pat"] || !strings.HasPrefix(link, s.URL+"/invite/") {
			t.Fatalf("fresh link %q (old %q)", link, links["pat"])
		}
		if status := linkStatus(t, links["pat"]); status != 410 {
			t.Errorf("the old link answers %d, want 410", status)
		}
		if status := linkStatus(t, link); status != 200 {
			t.Errorf("the fresh link answers %d, want 200", status)
		}
		b.click("#back-to-user", "/ui/users/pat/invitation")
		if n := b.text("#invitation-count"); n != "2" {
			t.Errorf("send count %q, want 2", n)
		}
	})

	t.Run("forms without the CSRF token are refused", func(t *testing.T) {
		b.t = t
		if status := b.fetchStatus("/ui/users/pat/remove", nil); status != 403 {
			t.Errorf("remove without a CSRF token: %d, want 403", status)
		}
		if status := b.fetchStatus("/ui/users/pat/remove", map[string]string{"csrf": "forged"}); status != 403 {
			t.Errorf("remove with a wrong CSRF token: %d, want 403", status)
		}
		if u, _ := s.API.GetUser(ctx, "pat"); u.State == store.UserRemoved {
			t.Error("pat was removed by a form without its CSRF token")
		}
	})

	t.Run("an unmanaged user can be removed", func(t *testing.T) {
		b.t = t
		b.open("/ui/users/kim")
		b.click("#remove-user", "/ui/users/kim/remove")
		b.checkA11y("confirm remove")
		b.screenshot("confirm-remove")
		b.click("#confirm", "/ui/users/kim")
		if notice := b.text("#notice"); !strings.Contains(notice, "removed") {
			t.Errorf("notice %q", notice)
		}
		u, err := s.API.GetUser(ctx, "kim")
		if err != nil || u.State != store.UserRemoved {
			t.Errorf("kim: %+v, %v; want Removed", u, err)
		}
		wantAudit(t, s, "kim", store.ActionUserRemoved)
		if status := linkStatus(t, links["kim"]); status != 410 {
			t.Errorf("kim's link answers %d after removal, want 410", status)
		}
	})

	t.Run("environment page: who can do what, who is notified", func(t *testing.T) {
		b.t = t
		b.open("/ui/environments")
		b.checkA11y("environments")
		b.click(`tr[data-environment="team-support.webchat"] th a`, "/ui/environments/team-support.webchat")
		b.checkA11y("environment")
		b.screenshot("environment")
		if got := js[[]string](b, `[...document.querySelectorAll("#notified li")].map(li => li.dataset.user)`); !slices.Equal(got, []string{"alex"}) {
			t.Errorf("notified on webchat: %v, want [alex]", got)
		}
		if got := js[[]string](b, `[...document.querySelectorAll("#members-table tbody tr")].map(tr => tr.dataset.user)`); !slices.Equal(got, []string{"alex", "ana", "diego", "olivia", "pat"}) {
			t.Errorf("access on webchat: %v", got)
		}
		if got := b.text(`#capabilities-table tr[data-capability="notify"] td`); got != "alex" {
			t.Errorf("notify capability: %q, want alex", got)
		}
	})

	t.Run("audit page shows the verified chain", func(t *testing.T) {
		b.t = t
		b.open("/ui/audit")
		b.checkA11y("audit")
		b.screenshot("audit")
		if ok := js[string](b, `document.querySelector("#chain-badge").dataset.ok`); ok != "true" {
			t.Errorf("chain badge: %q", b.text("#chain-badge"))
		}
		v, err := s.API.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := js[string](b, `document.querySelector("#chain-badge").dataset.entries`); n != fmt.Sprint(v.Entries) {
			t.Errorf("badge counts %s entries, verify %d", n, v.Entries)
		}
		b.open("/ui/audit?environment=team-support.webchat")
		if rows := js[int](b, `document.querySelectorAll("#audit-table tbody tr").length`); rows == 0 {
			t.Error("no audit entries for the environment")
		}

		// By actor: the pages' own actions (the admin token's subject, from studio-ui)
		// are what the store lists for that actor, newest first.
		b.open("/ui/audit?actor=admin")
		page, err := s.API.ListAudit(ctx, store.AuditFilter{Actor: "admin", Desc: true, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range page.Entries {
			want = append(want, fmt.Sprint(e.Seq))
		}
		if got := js[[]string](b, `[...document.querySelectorAll("#audit-table tbody tr[data-seq]")].map(tr => tr.dataset.seq)`); len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("audit by actor admin shows %v, the store lists %v", got, want)
		}
		b.open("/ui/audit?actor=nobody-writes-as-this")
		if rows := js[int](b, `document.querySelectorAll("#audit-table tbody tr[data-seq]").length`); rows != 0 {
			t.Errorf("an actor who wrote nothing shows %d entries", rows)
		}
		b.checkA11y("audit, by actor")
	})

	t.Run("keyboard navigation", func(t *testing.T) {
		b.t = t
		b.open("/ui/users")
		b.do(chromedp.KeyEvent("\t"))
		if cls := js[string](b, `document.activeElement.className`); cls != "skip" {
			t.Errorf("first Tab focuses %q, want the skip link", cls)
		}
		b.do(chromedp.KeyEvent("\r"))
		if id := js[string](b, `document.activeElement.id`); id != "main" {
			t.Errorf("the skip link moves focus to %q, want main", id)
		}
		reached := false
		for range 60 {
			b.do(chromedp.KeyEvent("\t"))
			if js[bool](b, `document.activeElement.matches('tr[data-user="alex"] th a')`) {
				reached = true
				break
			}
		}
		if !reached {
			t.Fatal("Tab never reached the first user's link")
		}
		if style := js[string](b, `getComputedStyle(document.activeElement).outlineStyle`); style == "none" {
			t.Error("the focused link shows no focus outline")
		}
		b.do(chromedp.KeyEvent("\r"))
		b.waitPath("/ui/users/alex")
	})

	t.Run("a reader cannot act", func(t *testing.T) {
		b.t = t
		b.signOut()
		b.signIn(readerToken)
		b.open("/ui/users/pat")
		if !js[bool](b, `document.querySelector("#remove-user").disabled && document.querySelector("#invite-user").disabled`) {
			t.Error("a reader's remove and invite buttons are not disabled")
		}
		if why := b.text("#actions-why"); !strings.Contains(why, "Read-only") {
			t.Errorf("reader note %q", why)
		}
		b.checkA11y("reader")
		csrf := js[string](b, `document.querySelector('input[name="csrf"]').value`)
		b.open("/ui/users")
		if n := js[int](b, `document.querySelectorAll('#users-table a[data-action="remove"], #users-table a[data-action="link"]').length`); n != 0 {
			t.Errorf("a reader's table offers %d link or remove actions", n)
		}
		if why := js[string](b, `document.querySelector('#users-table tr[data-user="pat"] .icon.disabled').title`); !strings.Contains(why, "Read-only") {
			t.Errorf("a reader's disabled row actions say %q", why)
		}
		if status := b.fetchStatus("/ui/users/pat/remove", map[string]string{"csrf": csrf}); status != 403 {
			t.Errorf("a reader's remove: %d, want 403", status)
		}
		if u, _ := s.API.GetUser(ctx, "pat"); u.State == store.UserRemoved {
			t.Error("a reader removed pat")
		}
	})
}

// wantAudit fails unless the user's log has action by the admin from the pages.
func wantAudit(t *testing.T, s *studio, user, action string) {
	t.Helper()
	page, err := s.API.ListAudit(context.Background(), store.AuditFilter{User: user})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.Action == action && e.Actor == "admin" && e.Source == "studio-ui" {
			return
		}
	}
	t.Errorf("%s: no audit entry %s by admin from studio-ui in %+v", user, action, page.Entries)
}
