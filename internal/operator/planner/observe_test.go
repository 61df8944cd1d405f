package planner_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Two agencies: acme (observed) with environments a.prod and a.dev, and beta (Full)
// with b.web.
var (
	observed = map[string]bool{"acme": true}
	agencyOf = func(sc store.Scope) string {
		switch {
		case sc.Agency != "":
			return sc.Agency
		case sc.Environment == "b.web":
			return "beta"
		case sc.Environment == "a.prod", sc.Environment == "a.dev":
			return "acme"
		}
		return ""
	}
)

func onAgency(a string, roles ...cascade.Role) store.Grant {
	return store.Grant{Scope: store.Scope{Agency: a}, Roles: roles}
}

func onEnv(e string, roles ...cascade.Role) store.Grant {
	return store.Grant{Scope: store.Scope{Environment: e}, Roles: append([]cascade.Role{}, roles...)}
}

func TestHoldObservedKeepsObservedScopesAsHeld(t *testing.T) {
	held := []store.Grant{onAgency("acme", cascade.Administrator), onEnv("a.prod"), onEnv("b.web", cascade.Planner)}
	want := []store.Grant{onAgency("acme", cascade.Planner), onAgency("beta", cascade.Planner), onEnv("a.dev", cascade.Operator)}
	got := planner.HoldObserved(held, want, agencyOf, observed)
	// beta's wanted grant goes in, b.web's held grant goes (Full); acme stays as held.
	expect := []store.Grant{onAgency("acme", cascade.Administrator), onAgency("beta", cascade.Planner), onEnv("a.prod")}
	if diff := cmp.Diff(expect, got); diff != "" {
		t.Errorf("HoldObserved (-want +got):\n%s", diff)
	}
	if got := planner.HoldObserved(held, want, agencyOf, nil); !planner.GrantsEqual(got, planner.NormalizeGrants(want)) {
		t.Errorf("nothing observed: want the wanted set, got %v", got)
	}
}

func TestGrantChanges(t *testing.T) {
	held := []store.Grant{onAgency("acme", cascade.Administrator, cascade.Planner), onEnv("a.prod"), onEnv("b.web", cascade.Planner)}
	want := []store.Grant{onAgency("acme", cascade.Planner, cascade.ContentManager), onEnv("a.dev"), onEnv("b.web")}
	got := planner.GrantChanges(held, want, agencyOf, observed)
	expect := []iamv1.GrantChange{
		{Agency: "acme", Add: []iamv1.Role{iamv1.Role(cascade.ContentManager)}, Remove: []iamv1.Role{iamv1.Role(cascade.Administrator)}},
		{Agency: "acme", Environment: "a/dev", Block: true},
		{Agency: "acme", Environment: "a/prod", Unblock: true},
	}
	if diff := cmp.Diff(expect, got); diff != "" {
		t.Errorf("GrantChanges (-want +got):\n%s", diff)
	}
	if got := planner.GrantChanges(held, held, agencyOf, observed); len(got) != 0 {
		t.Errorf("no change: got %v", got)
	}
}

// Applying a plan's grant changes to what the store held gives exactly the wanted
// set in the observed agencies: the plan lists every change and nothing else.
func TestGrantChangesReplayToTheWantedSet(t *testing.T) {
	sets := [][]store.Grant{
		nil,
		{onAgency("acme", cascade.Administrator)},
		{onAgency("acme", cascade.Planner), onEnv("a.prod", cascade.Operator), onEnv("a.dev")},
		{onEnv("a.prod"), onEnv("a.dev", cascade.Agent, cascade.Operator)},
	}
	for i, held := range sets {
		for j, want := range sets {
			got := replay(held, planner.GrantChanges(held, want, agencyOf, observed))
			if !planner.GrantsEqual(got, planner.NormalizeGrants(want)) {
				t.Errorf("held %d → want %d: replay gives %v, want %v", i, j, got, want)
			}
		}
	}
}

// replay applies changes to held the way the store would end up after Full.
func replay(held []store.Grant, changes []iamv1.GrantChange) []store.Grant {
	m := map[store.Scope][]cascade.Role{}
	for _, g := range held {
		m[g.Scope] = append([]cascade.Role{}, g.Roles...)
	}
	for _, c := range changes {
		sc := store.Scope{Agency: c.Agency}
		if c.Environment != "" {
			sc = store.Scope{Environment: c.Environment[:1] + "." + c.Environment[2:]}
		}
		roles := m[sc]
		for _, r := range c.Remove {
			roles = deleteRole(roles, cascade.Role(r))
		}
		for _, r := range c.Add {
			roles = append(roles, cascade.Role(r))
		}
		m[sc] = roles
		if len(roles) == 0 && !c.Block {
			delete(m, sc)
		}
		if c.Block {
			m[sc] = []cascade.Role{}
		}
	}
	var out []store.Grant
	for sc, roles := range m {
		out = append(out, store.Grant{Scope: sc, Roles: roles})
	}
	return planner.NormalizeGrants(out)
}

func deleteRole(rs []cascade.Role, r cascade.Role) []cascade.Role {
	var out []cascade.Role
	for _, x := range rs {
		if x != r {
			out = append(out, x)
		}
	}
	return out
}

func TestProfileChange(t *testing.T) {
	want := store.UserSpec{Email: "alice@example.com", DisplayName: "Alice", Type: cascade.UserTypeUser, Locale: "nl"}
	user := func(managedBy, name string) *store.User {
		return &store.User{Email: "Alice@Example.com", DisplayName: name, Type: cascade.UserTypeUser, Locale: "nl", ManagedBy: managedBy, State: store.UserInvited, CreatedAt: time.Now()}
	}
	cases := map[string]struct {
		stored *store.User
		record iamv1.PlannedRecord
		fields []iamv1.FieldChange
	}{
		"no record: create":                 {record: iamv1.PlannedCreate},
		"ours and equal (email case aside)": {stored: user("op", "Alice")},
		"nobody's, equal: adopt only":       {stored: user("", "Alice"), record: iamv1.PlannedAdopt},
		"nobody's, other name: adopt and change it": {stored: user("", "Al"), record: iamv1.PlannedAdopt,
			fields: []iamv1.FieldChange{{Field: "displayName", From: "Al", To: "Alice"}}},
		"ours, changed in the Studio: update": {stored: user("op", "Al"), record: iamv1.PlannedUpdate,
			fields: []iamv1.FieldChange{{Field: "displayName", From: "Al", To: "Alice"}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			record, fields := planner.ProfileChange(want, c.stored, "op")
			if record != c.record || !cmp.Equal(fields, c.fields) {
				t.Errorf("ProfileChange = %q %v, want %q %v", record, fields, c.record, c.fields)
			}
		})
	}
}

func TestAgencyTotalsAndHash(t *testing.T) {
	plans := map[string]*iamv1.PlannedChanges{
		"new":     {Agencies: []string{"acme"}, Record: iamv1.PlannedCreate, Grants: []iamv1.GrantChange{{Agency: "acme", Add: []iamv1.Role{"Planner"}}}, Invitation: true},
		"adopted": {Agencies: []string{"acme"}, Record: iamv1.PlannedAdopt, Grants: []iamv1.GrantChange{{Agency: "acme", Remove: []iamv1.Role{"Administrator"}}}},
		"renamed": {Agencies: []string{"acme"}, Record: iamv1.PlannedUpdate, Profile: []iamv1.FieldChange{{Field: "displayName", From: "a", To: "b"}}},
		"same":    {Agencies: []string{"acme"}},
		"other":   {Agencies: []string{"beta"}, Record: iamv1.PlannedCreate},
	}
	got := planner.AgencyTotals("acme", plans, []string{"a.prod"})
	want := iamv1.AgencyPlan{UsersToCreate: 1, RecordsToAdopt: 1, UsersToUpdate: 1, UsersToRevoke: 1, InvitationsToSend: 1, EnvironmentsToRecord: 1, PlanHash: got.PlanHash}
	if got != want {
		t.Errorf("AgencyTotals = %+v, want %+v", got, want)
	}
	// The hash covers exactly the agency's changes: an empty plan or another
	// agency's plan does not change it, a changed plan does.
	delete(plans, "same")
	plans["other"].Record = iamv1.PlannedAdopt
	if again := planner.AgencyTotals("acme", plans, []string{"a.prod"}); again.PlanHash != got.PlanHash {
		t.Errorf("hash changed without a change in acme")
	}
	plans["new"].Invitation = false
	if changed := planner.AgencyTotals("acme", plans, []string{"a.prod"}); changed.PlanHash == got.PlanHash {
		t.Errorf("hash did not change with the plan")
	}
	if none := planner.AgencyTotals("acme", plans, nil); none.PlanHash == got.PlanHash {
		t.Errorf("hash did not change with the environments")
	}
}
