package conformance

import (
	"slices"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

var auditCases = []testCase{
	{"AuditEntriesAreChainedAndAttributed", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst))
		all := h.audit(store.AuditFilter{})
		if len(all) != 7 { // 2 agencies, 3 environments, user.created, grant.added
			h.t.Fatalf("audit has %d entries, want 7: %v", len(all), actionsOf(all))
		}
		hashes := map[string]bool{}
		for i, e := range all {
			if e.Seq != int64(i+1) {
				h.t.Fatalf("entry %d has seq %d; want gap-free seq from 1", i, e.Seq)
			}
			if e.Hash == "" || hashes[e.Hash] {
				h.t.Fatalf("entry %d has an empty or repeated hash", e.Seq)
			}
			hashes[e.Hash] = true
			if e.OnBehalfOf != operator.OnBehalfOf || e.Source != operator.Source || !e.Time.Equal(Start) {
				h.t.Fatalf("entry %d = %+v; want onBehalfOf, source and time of the write", e.Seq, e)
			}
		}
		diff(h.t, "targets", []string{"agency/acme", "agency/globex", "environment/team-a.prod", "environment/team-a.staging",
			"environment/team-b.prod", "user/alice", "user/alice"}, targetsOf(all))
		v, err := h.api.VerifyAudit(h.ctx)
		if err != nil || !v.OK || v.Entries != 7 {
			h.t.Fatalf("VerifyAudit = %+v, %v; want ok over 7 entries", v, err)
		}
	}},
	{"AuditFilters", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.user(operator, "bob", "bob@example.com")
		h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst))
		h.grants(operator, "bob", envGrant("team-a.prod", cascade.Agent), envGrant("team-b.prod", cascade.Agent))

		diff(h.t, "user filter", []string{"user/alice", "user/alice"}, targetsOf(h.audit(store.AuditFilter{User: "alice"})))
		diff(h.t, "agency filter",
			[]string{"agency/acme", "environment/team-a.prod", "environment/team-a.staging", "user/alice", "user/bob"},
			targetsOf(h.audit(store.AuditFilter{Agency: "acme"})))
		envEntries := h.audit(store.AuditFilter{Environment: "team-a.prod"})
		diff(h.t, "environment filter", []string{"environment/team-a.prod", "user/bob"}, targetsOf(envEntries))
		diff(h.t, "environment filter actions", []string{store.ActionEnvironmentUpserted, store.ActionGrantAdded}, actionsOf(envEntries))
		diff(h.t, "combined filter", []string{"user/bob"}, targetsOf(h.audit(store.AuditFilter{User: "bob", Agency: "globex"})))
		if got := h.audit(store.AuditFilter{User: "nobody"}); len(got) != 0 {
			h.t.Fatalf("entries of an unknown user: %v", actionsOf(got))
		}
	}},
	{"AuditPagination", func(h *harness) {
		h.agency("acme", "Acme")
		for i := range 7 {
			h.agency("acme", "Acme "+string(rune('A'+i)))
		}
		var seqs []int64
		var after int64
		for pages := 1; ; pages++ {
			page, err := h.api.ListAudit(h.ctx, store.AuditFilter{After: after, Limit: 3})
			if err != nil {
				h.t.Fatal(err)
			}
			if len(page.Entries) > 3 || pages > 3 {
				h.t.Fatalf("page %d has %d entries", pages, len(page.Entries))
			}
			for _, e := range page.Entries {
				seqs = append(seqs, e.Seq)
			}
			if page.Next == nil {
				if pages != 3 {
					h.t.Fatalf("8 entries in pages of 3 ended after %d pages", pages)
				}
				break
			}
			after = *page.Next
		}
		diff(h.t, "seqs", []int64{1, 2, 3, 4, 5, 6, 7, 8}, seqs)
		page, err := h.api.ListAudit(h.ctx, store.AuditFilter{After: 8})
		if err != nil || len(page.Entries) != 0 || page.Next != nil {
			h.t.Fatalf("after the last entry = %+v, %v; want an empty last page", page, err)
		}
		page, err = h.api.ListAudit(h.ctx, store.AuditFilter{})
		if err != nil || len(page.Entries) != 8 || page.Next != nil {
			h.t.Fatalf("default page = %d entries, next %v, %v; want all 8", len(page.Entries), page.Next, err)
		}
	}},
	{"AuditNewestFirstBetweenBoundsAndByActor", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.user(person, "bob", "bob@example.com")
		h.grants(person, "alice", agencyGrant("acme", cascade.Analyst))
		h.grants(operator, "bob", envGrant("team-a.prod", cascade.Agent))
		h.grants(person, "bob", envGrant("team-a.prod", cascade.Agent), agencyGrant("acme", cascade.Planner))

		// seqsOf pages through f three at a time.
		seqsOf := func(f store.AuditFilter) []int64 {
			seqs := []int64{}
			f.Limit = 3
			for pages := 0; ; pages++ {
				page, err := h.api.ListAudit(h.ctx, f)
				if err != nil {
					h.t.Fatalf("%+v: %v", f, err)
				}
				if len(page.Entries) > 3 || pages > 20 {
					h.t.Fatalf("%+v: page %d has %d entries", f, pages, len(page.Entries))
				}
				for _, e := range page.Entries {
					seqs = append(seqs, e.Seq)
				}
				if page.Next == nil {
					return seqs
				}
				if f.Desc {
					f.Before = *page.Next
				} else {
					f.After = *page.Next
				}
			}
		}
		reversed := func(xs []int64) []int64 {
			out := slices.Clone(xs)
			slices.Reverse(out)
			return out
		}
		for name, f := range map[string]store.AuditFilter{
			"everything": {}, "user": {User: "bob"}, "agency": {Agency: "acme"}, "environment": {Environment: "team-a.prod"},
			"actor": {Actor: person.Actor}, "actor and user": {Actor: person.Actor, User: "bob"},
		} {
			asc := seqsOf(f)
			if len(asc) < 2 {
				h.t.Fatalf("%s: %d entries; the case tests no paging", name, len(asc))
			}
			g := f
			g.Desc = true
			diff(h.t, name+", newest first", reversed(asc), seqsOf(g))
			// Bounds on both sides keep the entries strictly between them.
			lo, hi := asc[0], asc[len(asc)-1]
			g.After, g.Before = lo, hi
			diff(h.t, name+", newest first between the first and the last", reversed(asc[1:len(asc)-1]), seqsOf(g))
		}
		for _, e := range h.audit(store.AuditFilter{Actor: person.Actor}) {
			if e.Actor != person.Actor {
				h.t.Fatalf("actor filter returned an entry by %q", e.Actor)
			}
		}
		if got := len(h.audit(store.AuditFilter{Actor: person.Actor})) + len(h.audit(store.AuditFilter{Actor: operator.Actor})); got != h.auditLen() {
			h.t.Errorf("entries by the two actors: %d, want all %d", got, h.auditLen())
		}
		_, err := h.api.ListAudit(h.ctx, store.AuditFilter{Before: -1})
		expectError(h.t, err, store.CodeInvalid, "before")
	}},
	{"EmptyAuditVerifies", func(h *harness) {
		v, err := h.api.VerifyAudit(h.ctx)
		if err != nil || !v.OK || v.Entries != 0 {
			h.t.Fatalf("VerifyAudit on an empty store = %+v, %v", v, err)
		}
	}},
}

func targetsOf(entries []store.AuditEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Target
	}
	return out
}
