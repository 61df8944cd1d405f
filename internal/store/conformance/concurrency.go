package conformance

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// writers is how many goroutines write at once in the concurrency cases.
const writers = 50

var concurrencyCases = []testCase{
	{"ConcurrentGrantWritersLoseNothing", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		roles := cascade.AssignableRoles
		sets := make([][]store.Grant, writers)
		for i := range sets {
			// Every writer asks for a different set, so every write changes data.
			sets[i] = []store.Grant{
				agencyGrant("acme", roles[i%len(roles)]),
				envGrant([]string{"team-a.prod", "team-a.staging"}[i%2], cascade.Agent),
				agencyGrant("globex", cascade.Analyst, roles[(i/len(roles))%len(roles)]),
			}
			sets[i][2].Roles = uniqueRoles(sets[i][2].Roles)
			if i%5 == 0 {
				sets[i] = append(sets[i], envGrant("team-b.prod"))
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() { _, errs[i] = h.api.PutGrants(h.ctx, operator, "alice", sets[i]) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				h.t.Fatalf("writer %d: %v", i, err)
			}
		}
		final, err := h.api.GetGrants(h.ctx, "alice")
		if err != nil {
			h.t.Fatal(err)
		}
		matches := slices.ContainsFunc(sets, func(s []store.Grant) bool {
			return fmt.Sprint(normalized(s)) == fmt.Sprint(final.Grants)
		})
		if !matches {
			h.t.Fatalf("final grants %v are none of the written sets", final.Grants)
		}
		// Replaying the audited changes from nothing must give the final state: every
		// committed write's diff was computed against the state before it.
		replayed := map[string]bool{}
		for _, e := range h.audit(store.AuditFilter{User: "alice"}) {
			if e.Action != store.ActionGrantAdded && e.Action != store.ActionGrantRemoved {
				continue
			}
			k := fmt.Sprint(e.Details["scope"], e.Details["role"], e.Details["block"])
			if replayed[k] == (e.Action == store.ActionGrantAdded) {
				h.t.Fatalf("entry %d: %s of %s, which the replay already has in that state", e.Seq, e.Action, k)
			}
			replayed[k] = e.Action == store.ActionGrantAdded
		}
		want := map[string]bool{}
		for _, g := range final.Grants {
			scope := map[string]any{}
			if g.Scope.Agency != "" {
				scope["agency"] = g.Scope.Agency
			} else {
				scope["environment"] = g.Scope.Environment
			}
			if len(g.Roles) == 0 {
				want[fmt.Sprint(scope, nil, true)] = true
			}
			for _, r := range g.Roles {
				want[fmt.Sprint(scope, string(r), nil)] = true
			}
		}
		for k, present := range replayed {
			if present != want[k] {
				h.t.Fatalf("audit replay says %s present=%v; final grants disagree", k, present)
			}
		}
		h.verify()
	}},
	{"ConcurrentWritersOnManyRecords", func(h *harness) {
		h.org()
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() {
				key := fmt.Sprintf("user-%02d", i)
				if _, _, err := h.api.PutUser(h.ctx, operator, key, userSpec(key+"@example.com")); err != nil {
					errs[i] = err
					return
				}
				if _, err := h.api.PutGrants(h.ctx, operator, key, []store.Grant{agencyGrant("acme", cascade.Analyst)}); err != nil {
					errs[i] = err
					return
				}
				_, errs[i] = h.api.SendInvitation(h.ctx, operator, key, "")
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				h.t.Fatalf("writer %d: %v", i, err)
			}
		}
		all := h.audit(store.AuditFilter{})
		for i, e := range all {
			if e.Seq != int64(i+1) {
				h.t.Fatalf("audit seq %d at position %d: not gap-free", e.Seq, i)
			}
		}
		if n := len(all); n != 5+3*writers {
			h.t.Fatalf("audit has %d entries, want %d", n, 5+3*writers)
		}
		page, err := h.api.ListUsers(h.ctx, store.UserFilter{Agency: "acme"})
		if err != nil || len(page.Items) != writers {
			h.t.Fatalf("users with acme grants = %d, %v; want %d", len(page.Items), err, writers)
		}
		h.verify()
	}},
}

func uniqueRoles(rs []cascade.Role) []cascade.Role {
	out := slices.Clone(rs)
	slices.Sort(out)
	return slices.Compact(out)
}

// normalized sorts a grant set the way stores return it.
func normalized(gs []store.Grant) []store.Grant {
	out := make([]store.Grant, len(gs))
	for i, g := range gs {
		g.Roles = slices.Clone(g.Roles)
		slices.Sort(g.Roles)
		out[i] = g
	}
	slices.SortFunc(out, func(a, b store.Grant) int {
		ak, bk := a.Scope.Agency == "", b.Scope.Agency == ""
		switch {
		case ak != bk && !ak:
			return -1
		case ak != bk:
			return 1
		}
		return strings.Compare(a.Scope.Agency+a.Scope.Environment, b.Scope.Agency+b.Scope.Environment)
	})
	return out
}
