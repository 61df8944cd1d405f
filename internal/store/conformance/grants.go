package conformance

import (
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

var grantCases = []testCase{
	{"InvalidGrantSetsNameTheField", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		ok := agencyGrant("acme", cascade.Analyst)
		for name, tc := range map[string]struct {
			grants []store.Grant
			field  string
		}{
			"both scopes":      {[]store.Grant{ok, {Scope: store.Scope{Agency: "acme", Environment: "team-a.prod"}, Roles: []cascade.Role{cascade.Agent}}}, "grants[1].scope"},
			"no scope":         {[]store.Grant{{Roles: []cascade.Role{cascade.Agent}}}, "grants[0].scope"},
			"Supervisor":       {[]store.Grant{envGrant("team-a.prod", cascade.Agent, cascade.Supervisor)}, "grants[0].roles[1]"},
			"unknown role":     {[]store.Grant{ok, envGrant("team-a.prod", "Janitor")}, "grants[1].roles[0]"},
			"duplicate role":   {[]store.Grant{agencyGrant("acme", cascade.Analyst, cascade.Analyst)}, "grants[0].roles[1]"},
			"org manager env":  {[]store.Grant{envGrant("team-a.prod", cascade.OrganisationManager)}, "grants[0].roles[0]"},
			"empty at agency":  {[]store.Grant{agencyGrant("acme")}, "grants[0].roles"},
			"duplicate scope":  {[]store.Grant{envGrant("team-a.prod", cascade.Agent), ok, envGrant("team-a.prod", cascade.Operator)}, "grants[2].scope"},
			"duplicate agency": {[]store.Grant{ok, agencyGrant("acme", cascade.Developer)}, "grants[1].scope"},
		} {
			_, err := h.api.PutGrants(h.ctx, operator, "alice", tc.grants)
			if store.CodeOf(err) != store.CodeInvalid {
				h.t.Fatalf("%s: error %v, want invalid", name, err)
			}
			expectError(h.t, err, store.CodeInvalid, tc.field)
		}
		if set, err := h.api.GetGrants(h.ctx, "alice"); err != nil || len(set.Grants) != 0 {
			h.t.Fatalf("grants after refused writes = %+v, %v", set, err)
		}
	}},
	{"GrantScopesMustExist", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		_, err := h.api.PutGrants(h.ctx, operator, "alice", []store.Grant{agencyGrant("acme", cascade.Analyst), agencyGrant("umbrella", cascade.Analyst)})
		expectError(h.t, err, store.CodeUnknownReference, "grants[1].scope.agency")
		_, err = h.api.PutGrants(h.ctx, operator, "alice", []store.Grant{envGrant("team-z.prod", cascade.Agent)})
		expectError(h.t, err, store.CodeUnknownReference, "grants[0].scope.environment")
		_, err = h.api.PutGrants(h.ctx, operator, "nobody", []store.Grant{agencyGrant("acme", cascade.Analyst)})
		expectError(h.t, err, store.CodeNotFound, "")
		if set, err := h.api.GetGrants(h.ctx, "alice"); err != nil || len(set.Grants) != 0 {
			h.t.Fatalf("grants after refused writes = %+v, %v", set, err)
		}
	}},
	{"PutGrantsReplacesTheSetAndAuditsEachRole", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		var set store.GrantSet
		added := h.newActions(func() {
			set = h.grants(operator, "alice",
				envGrant("team-a.prod", cascade.Operator, cascade.Agent), agencyGrant("acme", cascade.Producer, cascade.Analyst))
		})
		want := []store.Grant{
			agencyGrant("acme", cascade.Analyst, cascade.Producer),
			envGrant("team-a.prod", cascade.Agent, cascade.Operator),
		}
		diff(h.t, "grant set (sorted)", store.GrantSet{Grants: want, Changed: true}, set)
		diff(h.t, "audit of the first set", []string{store.ActionGrantAdded, store.ActionGrantAdded, store.ActionGrantAdded, store.ActionGrantAdded}, added)

		// Same set, other order: nothing changes, nothing is audited.
		added = h.newActions(func() {
			set = h.grants(operator, "alice",
				agencyGrant("acme", cascade.Producer, cascade.Analyst), envGrant("team-a.prod", cascade.Agent, cascade.Operator))
		})
		if set.Changed || len(added) != 0 {
			h.t.Fatalf("same set again: changed=%v, audit %v", set.Changed, added)
		}
		diff(h.t, "unchanged set", want, set.Grants)

		// Replace: Producer and the prod grant go, Developer and a staging block come.
		var entries []store.AuditEntry
		before := len(h.audit(store.AuditFilter{}))
		set = h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst, cascade.Developer), envGrant("team-a.staging"))
		entries = h.audit(store.AuditFilter{})[before:]
		type change struct {
			Action string
			Scope  any
			Role   any
			Block  any
		}
		var got []change
		for _, e := range entries {
			got = append(got, change{Action: e.Action, Scope: e.Details["scope"], Role: e.Details["role"], Block: e.Details["block"]})
		}
		wantChanges := []change{
			{store.ActionGrantRemoved, map[string]any{"agency": "acme"}, "Producer", nil},
			{store.ActionGrantAdded, map[string]any{"agency": "acme"}, "Developer", nil},
			{store.ActionGrantAdded, map[string]any{"environment": "team-a.staging"}, nil, true},
			{store.ActionGrantRemoved, map[string]any{"environment": "team-a.prod"}, "Agent", nil},
			{store.ActionGrantRemoved, map[string]any{"environment": "team-a.prod"}, "Operator", nil},
		}
		diff(h.t, "audited changes", sortChanges(wantChanges, func(c change) string { return c.Action + sprint(c.Scope) + sprint(c.Role) }),
			sortChanges(got, func(c change) string { return c.Action + sprint(c.Scope) + sprint(c.Role) }))
		for _, e := range entries {
			if e.Target != "user/alice" {
				h.t.Fatalf("grant entry target %q, want user/alice", e.Target)
			}
		}
		got2, err := h.api.GetGrants(h.ctx, "alice")
		if err != nil {
			h.t.Fatal(err)
		}
		diff(h.t, "GetGrants", store.GrantSet{Grants: []store.Grant{
			agencyGrant("acme", cascade.Analyst, cascade.Developer), envGrant("team-a.staging"),
		}}, got2)

		// The empty set revokes everything.
		set = h.grants(operator, "alice")
		if !set.Changed || len(set.Grants) != 0 {
			h.t.Fatalf("empty set = %+v", set)
		}
		h.verify()
	}},
}
