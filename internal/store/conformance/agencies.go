package conformance

import (
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

var agencyCases = []testCase{
	{"AgencyUpsertIsIdempotent", func(h *harness) {
		a, outcome, err := h.api.PutAgency(h.ctx, operator, "acme", store.AgencySpec{DisplayName: "Acme"})
		if err != nil || outcome != store.Created {
			h.t.Fatalf("create: outcome %q, err %v", outcome, err)
		}
		if a.Key != "acme" || a.DisplayName != "Acme" || a.ManagedBy != "op-1" || !a.CreatedAt.Equal(Start) {
			h.t.Fatalf("created agency = %+v", a)
		}
		got, err := h.api.GetAgency(h.ctx, "acme")
		if err != nil {
			h.t.Fatal(err)
		}
		diff(h.t, "GetAgency", a.Key+"/"+a.DisplayName+"/"+a.ManagedBy, got.Key+"/"+got.DisplayName+"/"+got.ManagedBy)

		added := h.newActions(func() {
			_, outcome, err = h.api.PutAgency(h.ctx, operator, "acme", store.AgencySpec{DisplayName: "Acme"})
		})
		if err != nil || outcome != store.Unchanged || len(added) != 0 {
			h.t.Fatalf("same agency again: outcome %q, err %v, audit %v; want unchanged and no audit entry", outcome, err, added)
		}
		added = h.newActions(func() {
			a, outcome, err = h.api.PutAgency(h.ctx, operator, "acme", store.AgencySpec{DisplayName: "Acme Inc."})
		})
		if err != nil || outcome != store.Updated || a.DisplayName != "Acme Inc." {
			h.t.Fatalf("update: %+v, outcome %q, err %v", a, outcome, err)
		}
		diff(h.t, "audit of the update", []string{store.ActionAgencyUpserted}, added)
	}},
	{"GetMissingRecordsIsNotFound", func(h *harness) {
		_, err := h.api.GetAgency(h.ctx, "nope")
		expectError(h.t, err, store.CodeNotFound, "")
		_, err = h.api.GetEnvironment(h.ctx, "nope.prod")
		expectError(h.t, err, store.CodeNotFound, "")
		_, err = h.api.GetUser(h.ctx, "nobody")
		expectError(h.t, err, store.CodeNotFound, "")
		_, err = h.api.GetGrants(h.ctx, "nobody")
		expectError(h.t, err, store.CodeNotFound, "")
		_, err = h.api.GetAccess(h.ctx, "nobody")
		expectError(h.t, err, store.CodeNotFound, "")
		_, err = h.api.GetInvitation(h.ctx, "nobody")
		expectError(h.t, err, store.CodeNotFound, "")
	}},
	{"EnvironmentNeedsAnExistingAgency", func(h *harness) {
		_, _, err := h.api.PutEnvironment(h.ctx, operator, "team-a.prod", store.EnvironmentSpec{Agency: "acme"})
		expectError(h.t, err, store.CodeUnknownReference, "agency")
		_, _, err = h.api.PutEnvironment(h.ctx, operator, "team-a.prod", store.EnvironmentSpec{})
		expectError(h.t, err, store.CodeInvalid, "agency")
		if n := h.auditLen(); n != 0 {
			h.t.Fatalf("refused writes left %d audit entries", n)
		}
	}},
	{"EnvironmentUpsertIsIdempotent", func(h *harness) {
		h.agency("acme", "Acme")
		h.agency("globex", "Globex")
		spec := store.EnvironmentSpec{Agency: "acme", DisplayName: "Production"}
		e, outcome, err := h.api.PutEnvironment(h.ctx, operator, "team-a.prod", spec)
		if err != nil || outcome != store.Created || e.Agency != "acme" || e.ManagedBy != "op-1" {
			h.t.Fatalf("create: %+v, outcome %q, err %v", e, outcome, err)
		}
		added := h.newActions(func() { _, outcome, err = h.api.PutEnvironment(h.ctx, operator, "team-a.prod", spec) })
		if err != nil || outcome != store.Unchanged || len(added) != 0 {
			h.t.Fatalf("same environment again: outcome %q, err %v, audit %v", outcome, err, added)
		}
		spec.Agency = "globex"
		e, outcome, err = h.api.PutEnvironment(h.ctx, operator, "team-a.prod", spec)
		if err != nil || outcome != store.Updated || e.Agency != "globex" {
			h.t.Fatalf("move: %+v, outcome %q, err %v", e, outcome, err)
		}
		got, err := h.api.GetEnvironment(h.ctx, "team-a.prod")
		if err != nil || got.Agency != "globex" || got.DisplayName != "Production" {
			h.t.Fatalf("GetEnvironment = %+v, %v", got, err)
		}
	}},
	{"InvalidKeysAreRefused", func(h *harness) {
		for name, tc := range map[string]struct {
			key string
			// routable: an HTTP route can name the key; an unroutable one may be
			// refused as not found instead of invalid.
			routable bool
		}{
			"empty": {key: ""},
			"slash": {key: "a/b"},
			"space": {key: "a b", routable: true},
		} {
			_, _, err := h.api.PutAgency(h.ctx, operator, tc.key, store.AgencySpec{})
			code := store.CodeOf(err)
			if code != store.CodeInvalid && (tc.routable || code != store.CodeNotFound) {
				h.t.Fatalf("%s key: error %v, want invalid", name, err)
			}
		}
		if n := h.auditLen(); n != 0 {
			h.t.Fatalf("refused writes left %d audit entries", n)
		}
	}},
	{"DeleteAgencyWithEnvironmentsHasDependents", func(h *harness) {
		h.org()
		err := h.api.DeleteAgency(h.ctx, operator, "acme")
		expectError(h.t, err, store.CodeHasDependents, "")
		if _, err := h.api.GetAgency(h.ctx, "acme"); err != nil {
			h.t.Fatalf("agency gone after a refused delete: %v", err)
		}
		for _, env := range []string{"team-a.prod", "team-a.staging"} {
			if err := h.api.DeleteEnvironment(h.ctx, operator, env); err != nil {
				h.t.Fatalf("DeleteEnvironment(%s): %v", env, err)
			}
		}
		if err := h.api.DeleteAgency(h.ctx, operator, "acme"); err != nil {
			h.t.Fatalf("DeleteAgency without environments: %v", err)
		}
		_, err = h.api.GetAgency(h.ctx, "acme")
		expectError(h.t, err, store.CodeNotFound, "")
		h.verify()
	}},
	{"DeleteScopesRevokesTheirGrants", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.grants(operator, "alice", agencyGrant("globex", cascade.Analyst), envGrant("team-a.prod", cascade.Agent, cascade.Operator), envGrant("team-a.staging"))
		added := h.newActions(func() {
			if err := h.api.DeleteEnvironment(h.ctx, operator, "team-a.prod"); err != nil {
				h.t.Fatal(err)
			}
		})
		diff(h.t, "audit of DeleteEnvironment", []string{store.ActionGrantRemoved, store.ActionGrantRemoved, store.ActionEnvironmentDeleted}, added)
		if err := h.api.DeleteEnvironment(h.ctx, operator, "team-b.prod"); err != nil {
			h.t.Fatal(err)
		}
		if err := h.api.DeleteAgency(h.ctx, operator, "globex"); err != nil {
			h.t.Fatal(err)
		}
		set, err := h.api.GetGrants(h.ctx, "alice")
		if err != nil {
			h.t.Fatal(err)
		}
		diff(h.t, "grants left", []store.Grant{envGrant("team-a.staging")}, set.Grants)
		removed := h.audit(store.AuditFilter{User: "alice"})
		if n := countOf(actionsOf(removed), store.ActionGrantRemoved); n != 3 {
			h.t.Fatalf("grant.removed entries for alice = %d, want 3 (Agent, Operator, Analyst)", n)
		}
		h.verify()
	}},
}

func actionsOf(entries []store.AuditEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Action
	}
	return out
}
