package conformance

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/testclock"
)

// Config is how the store under test must be built.
type Config struct {
	// Clock is the store's clock (sqlstore.Options.Clock).
	Clock func() time.Time
	// InvitationTTL is how long invitation links work.
	InvitationTTL time.Duration
	// PublicURL is the base of invitation links.
	PublicURL string
}

// Factory returns a fresh, empty store built with cfg. It registers its own cleanup
// with t.Cleanup.
type Factory func(t *testing.T, cfg Config) store.API

// Defaults of the suite's Config.
const (
	TTL       = 72 * time.Hour
	PublicURL = "https://studio.example.test"
)

// Start is the suite clock's first reading (microsecond precision, as stores keep).
var Start = time.Date(2030, time.March, 4, 5, 6, 7, 891011000, time.UTC)

// Clock is the suite's manual clock.
type Clock = testclock.Clock

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return testclock.New(start) }

// testCase is one behaviour of the contract.
type testCase struct {
	name string
	run  func(h *harness)
}

// allCases lists the suite, grouped by concern (one file per group).
func allCases() []testCase {
	var cs []testCase
	for _, group := range [][]testCase{
		agencyCases, userCases, ownershipCases, grantCases, listCases, accessCases, invitationCases,
		auditCases, concurrencyCases, emailCases, deliveryCases,
	} {
		cs = append(cs, group...)
	}
	return cs
}

// Run runs the whole suite, each case on a store of its own. Cases run in parallel
// (t.Parallel), so newAPI must be safe for concurrent use.
func Run(t *testing.T, newAPI Factory) {
	for _, c := range allCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(Start)
			cfg := Config{Clock: clock.Now, InvitationTTL: TTL, PublicURL: PublicURL}
			h := &harness{t: t, ctx: context.Background(), api: newAPI(t, cfg), clock: clock, cfg: cfg}
			c.run(h)
		})
	}
}

// Callers of the suite: the operator instance that manages records, another operator
// instance, and a person working in the Studio (no manager).
var (
	operator = store.Caller{Actor: "operator", Manager: "op-1", OnBehalfOf: "argocd:team-a", Source: "StudioUser//alice@3"}
	other    = store.Caller{Actor: "operator-2", Manager: "op-2"}
	person   = store.Caller{Actor: "jane"}
)

// harness holds the store under test and helpers that fail the test on error.
type harness struct {
	t     *testing.T
	ctx   context.Context
	api   store.API
	clock *Clock
	cfg   Config
}

func (h *harness) agency(key, display string) store.Agency {
	h.t.Helper()
	a, _, err := h.api.PutAgency(h.ctx, operator, key, store.AgencySpec{DisplayName: display})
	if err != nil {
		h.t.Fatalf("PutAgency(%s): %v", key, err)
	}
	return a
}

func (h *harness) environment(key, agency string) store.Environment {
	h.t.Helper()
	e, _, err := h.api.PutEnvironment(h.ctx, operator, key, store.EnvironmentSpec{Agency: agency, DisplayName: "Env " + key})
	if err != nil {
		h.t.Fatalf("PutEnvironment(%s): %v", key, err)
	}
	return e
}

// org creates agency acme with environments team-a.prod and team-a.staging, and agency
// globex with environment team-b.prod.
func (h *harness) org() {
	h.t.Helper()
	h.agency("acme", "Acme")
	h.agency("globex", "Globex")
	h.environment("team-a.prod", "acme")
	h.environment("team-a.staging", "acme")
	h.environment("team-b.prod", "globex")
}

func userSpec(email string) store.UserSpec {
	return store.UserSpec{Email: email, DisplayName: "Name of " + email, Type: cascade.UserTypeUser, Locale: "en"}
}

func (h *harness) user(c store.Caller, key, email string) store.User {
	h.t.Helper()
	u, _, err := h.api.PutUser(h.ctx, c, key, userSpec(email))
	if err != nil {
		h.t.Fatalf("PutUser(%s): %v", key, err)
	}
	return u
}

func (h *harness) grants(c store.Caller, key string, gs ...store.Grant) store.GrantSet {
	h.t.Helper()
	set, err := h.api.PutGrants(h.ctx, c, key, gs)
	if err != nil {
		h.t.Fatalf("PutGrants(%s): %v", key, err)
	}
	return set
}

func agencyGrant(key string, roles ...cascade.Role) store.Grant {
	return store.Grant{Scope: store.Scope{Agency: key}, Roles: nonNil(roles)}
}

func envGrant(key string, roles ...cascade.Role) store.Grant {
	return store.Grant{Scope: store.Scope{Environment: key}, Roles: nonNil(roles)}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// audit returns every entry matching f (After and Limit are ignored), paging through.
func (h *harness) audit(f store.AuditFilter) []store.AuditEntry {
	h.t.Helper()
	var out []store.AuditEntry
	f.After, f.Limit = 0, 1000
	for range 1000 {
		page, err := h.api.ListAudit(h.ctx, f)
		if err != nil {
			h.t.Fatalf("ListAudit: %v", err)
		}
		out = append(out, page.Entries...)
		if page.Next == nil {
			return out
		}
		f.After = *page.Next
	}
	h.t.Fatal("ListAudit never reached the last page")
	return nil
}

// actions lists the actions of the entries matching f, in order.
func (h *harness) actions(f store.AuditFilter) []string {
	h.t.Helper()
	var out []string
	for _, e := range h.audit(f) {
		out = append(out, e.Action)
	}
	return out
}

// auditLen is the number of audit entries; no-op writes must leave it unchanged.
func (h *harness) auditLen() int {
	h.t.Helper()
	return len(h.audit(store.AuditFilter{}))
}

// newActions runs fn and returns the actions it added to the audit log.
func (h *harness) newActions(fn func()) []string {
	h.t.Helper()
	before := h.audit(store.AuditFilter{})
	fn()
	var out []string
	for _, e := range h.audit(store.AuditFilter{})[len(before):] {
		out = append(out, e.Action)
	}
	return out
}

// verify fails the test unless the audit chain verifies.
func (h *harness) verify() {
	h.t.Helper()
	v, err := h.api.VerifyAudit(h.ctx)
	if err != nil {
		h.t.Fatalf("VerifyAudit: %v", err)
	}
	if !v.OK {
		h.t.Fatalf("VerifyAudit = %+v, want ok", v)
	}
}

// expectError fails the test unless err is a store error with code (and field, when
// not empty).
func expectError(t *testing.T, err error, code store.Code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := store.CodeOf(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
	if field == "" {
		return
	}
	var se *store.Error
	if !errors.As(err, &se) || se.Field != field {
		t.Fatalf("error %v: field %q, want %q", err, fieldOf(se), field)
	}
}

func fieldOf(e *store.Error) string {
	if e == nil {
		return ""
	}
	return e.Field
}

// diff fails the test when got differs from want.
func diff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// countOf counts the occurrences of s in list.
func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
