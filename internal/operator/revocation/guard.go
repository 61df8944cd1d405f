// Package revocation is the mass-revocation guard: it decides whether a user may lose
// all of its access in an agency now, or whether that revocation is held until
// someone approves it. It keeps, per agency, the users that lost their access within
// the revocation window and the revocations it holds; it does no I/O.
//
// The rules, per agency:
//   - within the window at most max(minUsers, maxPercent% of the agency's users with
//     access when the window opened) users lose all their access; maxPercent 100 lifts
//     the limit;
//   - once a revocation is held, every further one in that agency is held too, until
//     the held set is approved or empties (the manifests give the access back); a
//     revocation allowed within the window is not a further one: asked again (a
//     retry), it stays allowed and is not counted twice;
//   - the last OrganisationManager or Administrator of an agency is never removed by
//     the operator alone;
//   - while the operator's own CRDs are being deleted or are gone, nothing is revoked.
//
// An approval names the plan hash of the held set; it lets exactly that set through.
package revocation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of an Agency's spec.revocationGuard and of --revocation-window.
const (
	DefaultMaxPercent = 20
	DefaultMinUsers   = 5
	DefaultWindow     = 10 * time.Minute
)

// Policy is one agency's limit.
type Policy struct {
	MaxPercent, MinUsers int
}

// Budget is how many users may lose all access within a window, out of users with
// access; -1 means no limit.
func (p Policy) Budget(users int) int {
	if p.MaxPercent >= 100 {
		return -1
	}
	return max(p.MinUsers, users*p.MaxPercent/100)
}

// Reason says why a revocation is held.
type Reason string

const (
	ReasonLimit     Reason = "limit"
	ReasonLastAdmin Reason = "last-admin"
	ReasonCRDs      Reason = "crds"
)

// Request is one user about to lose all of its access in one agency.
type Request struct {
	Agency, User string
	Policy       Policy
	// UsersWithAccess counts the agency's users with access now; it is read when a
	// window opens.
	UsersWithAccess func() int
	// LastAdmin is set when the user holds the agency's last OrganisationManager or
	// Administrator role and would lose it.
	LastAdmin bool
	// CRDsGone is set while the operator's CRDs are being deleted or missing.
	CRDsGone bool
	// HeldBefore is set when the agency records held revocations (its status) that
	// this guard does not know of: a previous process held them. The first decision
	// about the agency in this process inherits that: it holds, as the held set would
	// have, until approved or until a window passes without one.
	HeldBefore bool
}

// Decision is the guard's answer.
type Decision struct {
	Allowed bool
	// Reason and Message say why a revocation is held.
	Reason  Reason
	Message string
}

// Guard is the memory of the revocations of this process.
type Guard struct {
	window time.Duration
	now    func() time.Time

	mu       sync.Mutex
	agencies map[string]*agency
	// changed is told the agencies whose held set changed.
	changed func(agency string)
}

type agency struct {
	opened  time.Time // when the current window opened
	base    int       // users with access then
	revoked map[string]time.Time
	held    map[string]Reason
	since   time.Time // when the first revocation of the held set was held
	// approved are the users of a held set that was approved: they go.
	approved map[string]bool
	// seen is set by the first decision about the agency in this process; inherited
	// (from Request.HeldBefore then) holds every revocation like a held set would,
	// until an approval or until a window after seenAt.
	seen      bool
	inherited bool
	seenAt    time.Time
}

// New returns a guard with the window; changed (may be nil) is called, without the
// guard's lock, with every agency whose held set changed.
func New(window time.Duration, changed func(agency string)) *Guard {
	if window <= 0 {
		window = DefaultWindow
	}
	return &Guard{window: window, now: time.Now, agencies: map[string]*agency{}, changed: changed}
}

// Admit decides whether r.User may lose all its access in r.Agency now. An allowed
// revocation is counted against the window.
func (g *Guard) Admit(r Request) Decision {
	g.mu.Lock()
	d, changed := g.admit(r)
	g.mu.Unlock()
	if changed && g.changed != nil {
		g.changed(r.Agency)
	}
	return d
}

func (g *Guard) admit(r Request) (Decision, bool) {
	now := g.now()
	a := g.agency(r.Agency)
	if !a.seen {
		a.seen, a.inherited, a.seenAt = true, r.HeldBefore, now
	}
	if a.inherited && len(a.held) == 0 && now.Sub(a.seenAt) >= g.window {
		a.inherited = false // nothing came to be held again within a window
	}
	if a.approved[r.User] {
		a.drop(r.User)
		a.revoked[r.User] = now
		return Decision{Allowed: true}, true
	}
	if at, again := a.revoked[r.User]; again && !r.CRDsGone && now.Sub(at) < g.window {
		// Decided and counted already: this is the same revocation asked again (its
		// write or the rest of its reconcile failed and is retried). Holding it now,
		// behind revocations held since, would leave a user whose access may be gone
		// already reported as keeping it, and count it twice.
		return Decision{Allowed: true}, false
	}
	var d Decision
	switch {
	case r.CRDsGone:
		d = Decision{Reason: ReasonCRDs, Message: "the operator's CRDs are being deleted or are missing: nothing is revoked while they are"}
	case r.LastAdmin:
		d = Decision{Reason: ReasonLastAdmin, Message: fmt.Sprintf("the last OrganisationManager or Administrator of agency %q is not removed by the operator alone", r.Agency)}
	case len(a.held) > 0:
		d = Decision{Reason: ReasonLimit, Message: fmt.Sprintf("other revocations in agency %q are held; this one waits with them", r.Agency)}
	case a.inherited:
		d = Decision{Reason: ReasonLimit, Message: fmt.Sprintf("revocations in agency %q were held when the operator restarted; they stay held until approved", r.Agency)}
	default:
		g.prune(a, now, r)
		budget := r.Policy.Budget(a.base)
		if budget < 0 || len(a.revoked) < budget {
			a.revoked[r.User] = now
			return Decision{Allowed: true}, false
		}
		d = Decision{Reason: ReasonLimit, Message: fmt.Sprintf(
			"%d users lost all their access in agency %q within %s, the most its revocationGuard allows (of %d users with access)",
			len(a.revoked), r.Agency, g.window, a.base)}
	}
	_, was := a.held[r.User]
	if len(a.held) == 0 {
		a.since = now
	}
	a.held[r.User] = d.Reason
	return d, !was
}

// prune forgets revocations older than the window, opening a new one (and counting
// the agency's users afresh) when none is open.
func (g *Guard) prune(a *agency, now time.Time, r Request) {
	for u, at := range a.revoked {
		if now.Sub(at) >= g.window {
			delete(a.revoked, u)
		}
	}
	if len(a.revoked) == 0 {
		a.opened = now
		if r.UsersWithAccess != nil {
			a.base = r.UsersWithAccess()
		}
	}
}

// drop removes user from the held set.
func (a *agency) drop(user string) {
	delete(a.held, user)
	delete(a.approved, user)
	if len(a.held) == 0 {
		a.approved, a.since = nil, time.Time{}
	}
}

// Release tells the guard that user no longer stands to lose its access in agency
// (its manifests give it back, or it went): a held revocation of it is dropped.
func (g *Guard) Release(agencyName, user string) {
	g.mu.Lock()
	a, ok := g.agencies[agencyName]
	changed := false
	if ok {
		if _, held := a.held[user]; held {
			a.drop(user)
			changed = true
		}
	}
	g.mu.Unlock()
	if changed && g.changed != nil {
		g.changed(agencyName)
	}
}

// Approve records approval (an agency's annotation) if it names the current plan;
// it reports whether it did. Approving lets exactly the held set through.
func (g *Guard) Approve(agencyName, approval string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.agencies[agencyName]
	if !ok || len(a.held) == 0 || approval == "" || approval != a.planHash(agencyName) {
		return false
	}
	a.approved = map[string]bool{}
	for u := range a.held {
		a.approved[u] = true
	}
	a.inherited = false
	return true
}

// Seen reports whether the guard decided anything about agency in this process;
// until it has, what the agency records as held still stands.
func (g *Guard) Seen(agencyName string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.agencies[agencyName]
	return ok && a.seen
}

// Held is what the guard holds in one agency.
type Held struct {
	Users    []string // sorted
	PlanHash string
	Reasons  map[string]Reason
}

// Held returns the held revocations of agency (zero when none).
func (g *Guard) Held(agencyName string) Held {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.agencies[agencyName]
	if !ok || len(a.held) == 0 {
		return Held{}
	}
	h := Held{PlanHash: a.planHash(agencyName), Reasons: map[string]Reason{}}
	for u, r := range a.held {
		h.Users = append(h.Users, u)
		h.Reasons[u] = r
	}
	slices.Sort(h.Users)
	return h
}

// IsHeld reports whether user's revocation in agency is held.
func (g *Guard) IsHeld(agencyName, user string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.agencies[agencyName]
	if !ok {
		return false
	}
	_, held := a.held[user]
	return held
}

func (g *Guard) agency(name string) *agency {
	a, ok := g.agencies[name]
	if !ok {
		a = &agency{revoked: map[string]time.Time{}, held: map[string]Reason{}}
		g.agencies[name] = a
	}
	return a
}

// planHash identifies the held set: the agency, the users and when holding began,
// so that an approval of one plan does not carry over to a later one.
func (a *agency) planHash(name string) string {
	users := make([]string, 0, len(a.held))
	for u := range a.held {
		users = append(users, u)
	}
	slices.Sort(users)
	sum := sha256.Sum256([]byte(name + "\n" + a.since.UTC().Format(time.RFC3339Nano) + "\n" + strings.Join(users, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}
