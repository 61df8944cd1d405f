package revocation

import (
	"fmt"
	"testing"
	"time"
)

func newTestGuard(t *testing.T) (*Guard, *time.Time, *[]string) {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	var changed []string
	g := New(10*time.Minute, func(a string) { changed = append(changed, a) })
	g.now = func() time.Time { return now }
	return g, &now, &changed
}

func req(user string, users int) Request {
	return Request{Agency: "acme", User: user, Policy: Policy{MaxPercent: 20, MinUsers: 5}, UsersWithAccess: func() int { return users }}
}

func TestBudget(t *testing.T) {
	for _, c := range []struct {
		p     Policy
		users int
		want  int
	}{
		{Policy{20, 5}, 10, 5}, {Policy{20, 5}, 100, 20}, {Policy{20, 5}, 0, 5},
		{Policy{50, 0}, 7, 3}, {Policy{100, 5}, 1000, -1}, {Policy{0, 0}, 100, 0},
	} {
		if got := c.p.Budget(c.users); got != c.want {
			t.Errorf("%+v of %d users: budget %d, want %d", c.p, c.users, got, c.want)
		}
	}
}

// A namespace holding the bindings of 100 users is deleted: 20 lose their access, the
// other 80 are held, with one plan hash, until approved; the approval lets exactly
// those through.
func TestGuardHoldsBeyondTheLimitUntilApproved(t *testing.T) {
	g, now, changed := newTestGuard(t)
	allowed := 0
	for i := range 100 {
		if g.Admit(req(fmt.Sprintf("u%03d", i), 100)).Allowed {
			allowed++
		}
	}
	if allowed != 20 {
		t.Fatalf("%d of 100 revocations allowed, want 20 (20%% of 100)", allowed)
	}
	h := g.Held("acme")
	if len(h.Users) != 80 || h.PlanHash == "" || h.Reasons["u099"] != ReasonLimit {
		t.Fatalf("held %d users (hash %q, reason %q), want 80 with a hash", len(h.Users), h.PlanHash, h.Reasons["u099"])
	}
	if len(*changed) == 0 {
		t.Error("the agency was not told its held set changed")
	}
	if d := g.Admit(req("u050", 100)); d.Allowed {
		t.Error("asking again let a held revocation through")
	}

	*now = now.Add(11 * time.Minute)
	if d := g.Admit(req("u050", 100)); d.Allowed {
		t.Error("a held revocation went through when the window passed, without approval")
	}
	if g.Approve("acme", "sha256:not-the-plan") {
		t.Error("an approval of another plan was accepted")
	}
	if !g.Approve("acme", h.PlanHash) {
		t.Fatal("the approval of the current plan was refused")
	}
	for _, u := range h.Users {
		if !g.Admit(req(u, 100)).Allowed {
			t.Fatalf("approved revocation of %s not allowed", u)
		}
	}
	if got := g.Held("acme"); len(got.Users) != 0 {
		t.Errorf("still held after approval: %v", got.Users)
	}
}

func TestGuardReleasesWhenTheAccessComesBack(t *testing.T) {
	g, _, _ := newTestGuard(t)
	for i := range 6 {
		g.Admit(req(fmt.Sprintf("u%d", i), 10))
	}
	if !g.IsHeld("acme", "u5") {
		t.Fatal("the sixth of 10 users (budget 5) is not held")
	}
	before := g.Held("acme").PlanHash
	g.Release("acme", "u5")
	if g.IsHeld("acme", "u5") || len(g.Held("acme").Users) != 0 {
		t.Error("a user whose access came back is still held")
	}
	g.Admit(req("u6", 10))
	if after := g.Held("acme").PlanHash; after == before || after == "" {
		t.Errorf("a new held set has the hash of the old one (%q)", after)
	}
}

func TestGuardWindowFreesTheBudget(t *testing.T) {
	g, now, _ := newTestGuard(t)
	for i := range 5 {
		if !g.Admit(req(fmt.Sprintf("a%d", i), 10)).Allowed {
			t.Fatalf("revocation %d of the budget of 5 refused", i)
		}
	}
	*now = now.Add(10 * time.Minute)
	for i := range 5 {
		if !g.Admit(req(fmt.Sprintf("b%d", i), 10)).Allowed {
			t.Fatalf("revocation %d in the next window refused", i)
		}
	}
}

func TestGuardLastAdminAndCRDs(t *testing.T) {
	g, _, _ := newTestGuard(t)
	r := req("boss", 100)
	r.LastAdmin = true
	if d := g.Admit(r); d.Allowed || d.Reason != ReasonLastAdmin {
		t.Errorf("last OrganisationManager removed: %+v", d)
	}
	g2, _, _ := newTestGuard(t)
	r = req("anyone", 100)
	r.CRDsGone = true
	r.Policy.MaxPercent = 100
	if d := g2.Admit(r); d.Allowed || d.Reason != ReasonCRDs {
		t.Errorf("revoked while the CRDs are gone, guard off: %+v", d)
	}
	off := req("x", 3)
	off.Policy.MaxPercent = 100
	g3, _, _ := newTestGuard(t)
	for i := range 50 {
		off.User = fmt.Sprint(i)
		if !g3.Admit(off).Allowed {
			t.Fatal("maxPercent 100 still limits")
		}
	}
}

// A manager restarted while revocations were held must not let another budget go:
// the new guard inherits the hold the agency records, until it is approved, or until a
// window passes in which nothing needs holding.
func TestGuardInheritsHoldsAcrossRestarts(t *testing.T) {
	g, now, _ := newTestGuard(t)
	heldBefore := func(user string) Request { r := req(user, 100); r.HeldBefore = true; return r }
	if g.Seen("acme") {
		t.Fatal("a fresh guard has seen the agency")
	}
	if d := g.Admit(heldBefore("u001")); d.Allowed || d.Reason != ReasonLimit {
		t.Fatalf("first decision after a restart with holds recorded: %+v, want held", d)
	}
	if !g.Seen("acme") {
		t.Error("the agency is not seen after a decision")
	}
	for i := 2; i <= 30; i++ {
		if g.Admit(req(fmt.Sprintf("u%03d", i), 100)).Allowed {
			t.Fatalf("u%03d went through while the inherited hold stands", i)
		}
	}
	h := g.Held("acme")
	if len(h.Users) != 30 {
		t.Fatalf("held %d, want 30", len(h.Users))
	}
	if !g.Approve("acme", h.PlanHash) {
		t.Fatal("approval refused")
	}
	for _, u := range h.Users {
		if !g.Admit(req(u, 100)).Allowed {
			t.Fatalf("approved %s held", u)
		}
	}
	// After the approval the agency's own budget applies again: the approved ones
	// count against this window, the next window is free.
	*now = now.Add(11 * time.Minute)
	if !g.Admit(req("u100", 100)).Allowed {
		t.Error("a new revocation after the approval was held")
	}

	// Recorded holds whose users all got their access back: after a window without
	// anything to hold, the inheritance lapses.
	g2, now2, _ := newTestGuard(t)
	g2.Release("acme", "u001") // access came back; nothing decided
	if g2.Seen("acme") {
		t.Error("a release counts as a decision")
	}
	r := heldBefore("u001")
	r.Agency = "beta"
	if g2.Admit(r).Allowed {
		t.Fatal("inherited hold did not hold")
	}
	g2.Release("beta", "u001")
	*now2 = now2.Add(11 * time.Minute)
	r.User, r.HeldBefore = "u002", false
	if !g2.Admit(r).Allowed {
		t.Error("the inherited hold outlived a window with nothing held")
	}
}

// Eight StudioUsers of an agency are deleted at once: five revocations go, three are
// held. A user whose revocation went is asked about again (its removal or the release
// of its finalizer failed and is retried): it still goes, and is neither held nor
// counted twice, even though revocations are held by now.
func TestGuardRetriesOfAnAllowedRevocationStayAllowed(t *testing.T) {
	g, now, _ := newTestGuard(t)
	for i := range 8 {
		d := g.Admit(req(fmt.Sprintf("u%d", i), 8))
		if want := i < 5; d.Allowed != want {
			t.Fatalf("u%d: allowed %v, want %v", i, d.Allowed, want)
		}
	}
	for range 3 {
		if d := g.Admit(req("u4", 8)); !d.Allowed {
			t.Fatalf("the retry of an allowed revocation was held: %+v", d)
		}
	}
	if h := g.Held("acme"); len(h.Users) != 3 || h.Reasons["u4"] != "" {
		t.Errorf("held %v, want the 3 beyond the limit", h.Users)
	}
	if d := g.Admit(req("u9", 8)); d.Allowed {
		t.Error("a new revocation went through while others are held")
	}

	// A window later the earlier decision no longer counts: asked again, the user
	// waits with the held ones.
	*now = now.Add(11 * time.Minute)
	if d := g.Admit(req("u4", 8)); d.Allowed {
		t.Error("a decision older than the window was reused")
	}
}

// While the operator's CRDs are going, nothing is revoked, not even the retry of a
// revocation allowed before.
func TestGuardHoldsRetriesWhileTheCRDsGo(t *testing.T) {
	g, _, _ := newTestGuard(t)
	if !g.Admit(req("u1", 10)).Allowed {
		t.Fatal("the first revocation was held")
	}
	r := req("u1", 10)
	r.CRDsGone = true
	if d := g.Admit(r); d.Allowed || d.Reason != ReasonCRDs {
		t.Errorf("retry while the CRDs go: %+v, want held for the CRDs", d)
	}
}
