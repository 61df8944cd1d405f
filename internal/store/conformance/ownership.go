package conformance

import (
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

var ownershipCases = []testCase{
	{"AnotherManagerIsRefused", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		before := h.auditLen()
		_, _, err := h.api.PutUser(h.ctx, other, "alice", userSpec("alice@example.com"))
		expectError(h.t, err, store.CodeManagedByOther, "")
		_, err = h.api.PutGrants(h.ctx, other, "alice", []store.Grant{agencyGrant("acme", cascade.Analyst)})
		expectError(h.t, err, store.CodeManagedByOther, "")
		_, err = h.api.SendInvitation(h.ctx, other, "alice", "")
		expectError(h.t, err, store.CodeManagedByOther, "")
		_, err = h.api.RemoveUser(h.ctx, other, "alice")
		expectError(h.t, err, store.CodeManagedByOther, "")
		_, _, err = h.api.PutAgency(h.ctx, other, "acme", store.AgencySpec{DisplayName: "Mine"})
		expectError(h.t, err, store.CodeManagedByOther, "")
		_, _, err = h.api.PutEnvironment(h.ctx, other, "team-a.prod", store.EnvironmentSpec{Agency: "acme"})
		expectError(h.t, err, store.CodeManagedByOther, "")
		expectError(h.t, h.api.DeleteEnvironment(h.ctx, other, "team-a.prod"), store.CodeManagedByOther, "")
		if after := h.auditLen(); after != before {
			h.t.Fatalf("refused writes added %d audit entries", after-before)
		}
		u, err := h.api.GetUser(h.ctx, "alice")
		if err != nil || u.ManagedBy != "op-1" {
			h.t.Fatalf("user after refused writes = %+v, %v", u, err)
		}
	}},
	{"PersonWriteKeepsManagerAndIsCorrectedAsDrift", func(h *harness) {
		h.org()
		spec := userSpec("alice@example.com")
		h.user(operator, "alice", spec.Email)
		h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst))

		changed := spec
		changed.DisplayName = "Renamed in the Studio"
		u, outcome, err := h.api.PutUser(h.ctx, person, "alice", changed)
		if err != nil || outcome != store.Updated || u.ManagedBy != "op-1" || u.DisplayName != changed.DisplayName {
			h.t.Fatalf("person's write = %+v, %q, %v; want allowed, managedBy kept", u, outcome, err)
		}
		added := h.newActions(func() {
			if _, _, err := h.api.PutUser(h.ctx, operator, "alice", spec); err != nil {
				h.t.Fatal(err)
			}
		})
		if countOf(added, store.ActionDriftCorrected) != 1 {
			h.t.Fatalf("operator undoing a person's change audited %v; want one %s", added, store.ActionDriftCorrected)
		}
		// Once corrected, the operator's own changes are ordinary updates.
		spec.Locale = "nl"
		added = h.newActions(func() {
			if _, _, err := h.api.PutUser(h.ctx, operator, "alice", spec); err != nil {
				h.t.Fatal(err)
			}
		})
		diff(h.t, "audit of an ordinary update", []string{store.ActionUserUpdated}, added)

		// The same for grants.
		if _, err := h.api.PutGrants(h.ctx, person, "alice", []store.Grant{agencyGrant("acme", cascade.Administrator)}); err != nil {
			h.t.Fatalf("person's grants: %v", err)
		}
		if u, _ := h.api.GetUser(h.ctx, "alice"); u.ManagedBy != "op-1" {
			h.t.Fatalf("person's grant write changed managedBy to %q", u.ManagedBy)
		}
		added = h.newActions(func() { h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst)) })
		if countOf(added, store.ActionDriftCorrected) != 1 || countOf(added, store.ActionGrantAdded) != 1 || countOf(added, store.ActionGrantRemoved) != 1 {
			h.t.Fatalf("operator restoring grants audited %v; want drift.corrected, grant.added Analyst, grant.removed Administrator", added)
		}
		added = h.newActions(func() {
			h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst), envGrant("team-a.prod", cascade.Agent))
		})
		diff(h.t, "audit of an ordinary grant change", []string{store.ActionGrantAdded}, added)
	}},
	{"UnmanagedRecordIsAdopted", func(h *harness) {
		h.org()
		u := h.user(person, "alice", "alice@example.com")
		if u.ManagedBy != "" {
			h.t.Fatalf("user created by a person has managedBy %q", u.ManagedBy)
		}
		var outcome store.Outcome
		var err error
		added := h.newActions(func() { u, outcome, err = h.api.PutUser(h.ctx, operator, "alice", userSpec("alice@example.com")) })
		if err != nil || u.ManagedBy != "op-1" || outcome == store.Unchanged {
			h.t.Fatalf("adoption = %+v, %q, %v; want managedBy op-1 and a change", u, outcome, err)
		}
		diff(h.t, "audit of the adoption", []string{store.ActionUserAdopted}, added)
		added = h.newActions(func() { _, outcome, err = h.api.PutUser(h.ctx, operator, "alice", userSpec("alice@example.com")) })
		if err != nil || outcome != store.Unchanged || len(added) != 0 {
			h.t.Fatalf("after adoption: %q, %v, audit %v; want unchanged", outcome, err, added)
		}
		_, _, err = h.api.PutUser(h.ctx, other, "alice", userSpec("alice@example.com"))
		expectError(h.t, err, store.CodeManagedByOther, "")

		a, _, err := h.api.PutAgency(h.ctx, person, "initech", store.AgencySpec{DisplayName: "Initech"})
		if err != nil || a.ManagedBy != "" {
			h.t.Fatalf("agency by a person = %+v, %v", a, err)
		}
		a, outcome, err = h.api.PutAgency(h.ctx, operator, "initech", store.AgencySpec{DisplayName: "Initech"})
		if err != nil || a.ManagedBy != "op-1" || outcome != store.Updated {
			h.t.Fatalf("agency adoption = %+v, %q, %v", a, outcome, err)
		}
	}},
}
