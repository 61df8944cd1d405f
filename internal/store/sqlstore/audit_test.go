package sqlstore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
)

// eachBackend runs fn on a fresh store of every backend, in parallel.
func eachBackend(t *testing.T, fn func(t *testing.T, s *Store, clock *conformance.Clock)) {
	for name, dsn := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := conformance.NewClock(conformance.Start)
			s := openTest(t, dsn(t), Options{Clock: clock.Now, PublicURL: "https://studio.example.test/", InvitationTTL: time.Hour})
			fn(t, s, clock)
		})
	}
}

var (
	testCaller = store.Caller{Actor: "operator", Manager: "op-1"}
	bg         = context.Background()
)

// seed creates agency acme with environment team-a.prod and user alice (alice@example.com)
// with Agent there: five audit entries.
func seed(t *testing.T, s *Store) {
	t.Helper()
	if _, _, err := s.PutAgency(bg, testCaller, "acme", store.AgencySpec{DisplayName: "Acme Corp"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutEnvironment(bg, testCaller, "team-a.prod", store.EnvironmentSpec{Agency: "acme", DisplayName: "Support bot"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutUser(bg, testCaller, "alice", store.UserSpec{Email: "alice@example.com", DisplayName: "Alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutGrants(bg, testCaller, "alice", []store.Grant{{Scope: store.Scope{Environment: "team-a.prod"}, Roles: []cascade.Role{cascade.Agent, cascade.Operator}}}); err != nil {
		t.Fatal(err)
	}
}

// tamper runs statements as someone with direct database access, after lifting the
// append-only triggers.
func tamper(t *testing.T, s *Store, stmts ...string) {
	t.Helper()
	lift := []string{"DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"}
	if s.d == postgresDialect {
		lift = []string{"ALTER TABLE audit DISABLE TRIGGER audit_append_only"}
	}
	for _, stmt := range append(lift, stmts...) {
		if _, err := s.writer.ExecContext(bg, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		seed(t, s)
		for _, stmt := range []string{"UPDATE audit SET actor = 'mallory' WHERE seq = 1", "DELETE FROM audit WHERE seq = 1"} {
			if _, err := s.writer.ExecContext(bg, stmt); err == nil {
				t.Fatalf("%s succeeded; the audit table must refuse it", stmt)
			}
		}
	})
}

func TestVerifyAuditDetectsTampering(t *testing.T) {
	for name, tc := range map[string]struct {
		stmts    []string
		firstBad int64
		problem  string
	}{
		"details edited": {
			stmts:    []string{`UPDATE audit SET details = '{"role":"Administrator","scope":{"environment":"team-a.prod"}}' WHERE seq = 4`},
			firstBad: 4, problem: ProblemEdited,
		},
		"actor edited": {
			stmts:    []string{"UPDATE audit SET actor = 'someone-else' WHERE seq = 2"},
			firstBad: 2, problem: ProblemEdited,
		},
		"row deleted": {
			stmts:    []string{"DELETE FROM audit WHERE seq = 3"},
			firstBad: 3, problem: ProblemMissing,
		},
		"last row deleted": {
			stmts:    []string{"DELETE FROM audit WHERE seq = 5"},
			firstBad: 5, problem: ProblemMissing,
		},
		"seqs swapped": {
			stmts: []string{
				"UPDATE audit SET seq = 1000 WHERE seq = 2",
				"UPDATE audit SET seq = 2 WHERE seq = 3",
				"UPDATE audit SET seq = 3 WHERE seq = 1000",
			},
			firstBad: 2, problem: ProblemReordered,
		},
	} {
		t.Run(name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
				seed(t, s)
				v, err := s.VerifyAudit(bg)
				if err != nil || !v.OK || v.Entries != 5 {
					t.Fatalf("before tampering: %+v, %v; want ok over 5 entries", v, err)
				}
				tamper(t, s, tc.stmts...)
				v, err = s.VerifyAudit(bg)
				if err != nil {
					t.Fatal(err)
				}
				if v.OK || v.FirstBad == nil || *v.FirstBad != tc.firstBad || v.Problem != tc.problem {
					t.Fatalf("after tampering: %+v (firstBad %v); want first bad %d, %q", v, deref(v.FirstBad), tc.firstBad, tc.problem)
				}
			})
		})
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestAuditHashesCanBeCheckedFromTheAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		seed(t, s)
		page, err := s.ListAudit(bg, store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		prev := ""
		for _, e := range page.Entries {
			details := "{}"
			if len(e.Details) > 0 {
				details = mustJSON(t, e.Details)
			}
			h, err := chainHash(prev, e.Seq, e.Time, e.Actor, e.OnBehalfOf, e.Source, e.Action, e.Target, details)
			if err != nil || h != e.Hash {
				t.Fatalf("entry %d: recomputed hash %s, stored %s (%v)", e.Seq, h, e.Hash, err)
			}
			prev = e.Hash
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
