package plugin

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

func agency(name string, policy iamv1.ManagementPolicy, change func(*iamv1.Agency)) iamv1.Agency {
	a := iamv1.Agency{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec:       iamv1.AgencySpec{HomeNamespace: name, ManagementPolicy: policy},
		Status:     iamv1.AgencyStatus{CommonStatus: iamv1.CommonStatus{ObservedGeneration: 1}},
	}
	if change != nil {
		change(&a)
	}
	return a
}

// planned is a user whose status.plan is p.
func planned(name string, p iamv1.PlannedChanges) iamv1.StudioUser {
	return user(name, func(u *iamv1.StudioUser) { u.Status.Plan = &p })
}

// held is a user whose revocation in agency the guard holds.
func held(name, agency string) iamv1.StudioUser {
	return user(name, func(u *iamv1.StudioUser) {
		u.Status.Conditions = []metav1.Condition{{Type: iamv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: iamv1.ReasonRevocationHeld,
			Message: `revocation held, the user keeps its access there until it is approved (kubectl studio approve AGENCY): agency "` + agency + `": 5 users lost all their access`}}
	})
}

// planFixture is an agency under Observe with one user of each kind of change, an
// agency under Full holding two revocations, and two agencies with nothing to do.
func planFixture() PlanInput {
	return PlanInput{
		Agencies: []iamv1.Agency{
			agency("dawn", iamv1.ManagementObserve, func(a *iamv1.Agency) {
				a.Status.Plan = &iamv1.AgencyPlan{PlanHash: "sha256:0000"}
			}),
			agency("calm", "", nil),
			agency("beta", iamv1.ManagementFull, func(a *iamv1.Agency) {
				a.Status.HeldRevocations = &iamv1.HeldRevocations{Users: 2, PlanHash: "sha256:5e1f"}
			}),
			agency("acme", iamv1.ManagementObserve, func(a *iamv1.Agency) {
				a.Status.Plan = &iamv1.AgencyPlan{UsersToCreate: 1, RecordsToAdopt: 1, UsersToUpdate: 3, UsersToRevoke: 1,
					InvitationsToSend: 1, EnvironmentsToRecord: 1, PlanHash: "sha256:aaaa"}
			}),
		},
		Users: []iamv1.StudioUser{
			planned("eli", iamv1.PlannedChanges{
				Agencies: []string{"acme", "other"}, Record: iamv1.PlannedUpdate,
				Profile: []iamv1.FieldChange{{Field: "email", From: "eli@old.example", To: "eli@example.com"}},
				Grants: []iamv1.GrantChange{
					{Agency: "other", Remove: []iamv1.Role{"Planner"}},
					{Agency: "acme", Environment: "team-sales/leadbot", Add: []iamv1.Role{"Developer"}},
				},
			}),
			planned("diego", iamv1.PlannedChanges{
				Agencies: []string{"acme"},
				Grants: []iamv1.GrantChange{
					{Agency: "acme", Environment: "team-support/whatsapp", Unblock: true},
					{Agency: "acme", Environment: "team-support/webchat", Block: true},
					{Agency: "acme", Remove: []iamv1.Role{"Analyst"}},
				},
			}),
			planned("ana", iamv1.PlannedChanges{
				Agencies: []string{"acme"}, Record: iamv1.PlannedAdopt,
				Profile: []iamv1.FieldChange{{Field: "displayName", From: "Ana", To: "Ana López"}},
				Grants:  []iamv1.GrantChange{{Agency: "acme", Add: []iamv1.Role{"Analyst"}}},
			}),
			planned("alex", iamv1.PlannedChanges{
				Agencies: []string{"acme"}, Record: iamv1.PlannedCreate, Invitation: true,
				Grants: []iamv1.GrantChange{{Agency: "acme", Environment: "team-support/webchat", Add: []iamv1.Role{"Agent"}}},
			}),
			planned("fay", iamv1.PlannedChanges{Agencies: []string{"acme"}}), // nothing to do
			held("ida", "beta"),
			held("hal", "beta"),
			user("jo", nil),
		},
	}
}

func TestWritePlan(t *testing.T) {
	cases := map[string]struct {
		in   PlanInput
		want string
	}{
		"every kind of change": {in: planFixture(), want: "" +
			"agency acme: policy Observe, plan sha256:aaaa\n" +
			"  + alex (create)\n" +
			"      + Agent in environment team-support/webchat\n" +
			"      + invitation email\n" +
			"  ~ ana (adopt)\n" +
			"      ~ displayName: \"Ana\" → \"Ana López\"\n" +
			"      + Analyst in agency acme\n" +
			"  ~ diego\n" +
			"      - Analyst in agency acme\n" +
			"      - roles inherited from agency acme in environment team-support/webchat (block)\n" +
			"      + roles inherited from agency acme in environment team-support/whatsapp (unblock)\n" +
			"  ~ eli (update)\n" +
			"      ~ email: \"eli@old.example\" → \"eli@example.com\"\n" +
			"      + Developer in environment team-sales/leadbot\n" +
			"  + 1 environments to record in the Studio\n" +
			"\n" +
			"agency beta: policy Full\n" +
			"  2 revocations held, plan sha256:5e1f\n" +
			"      - hal: 5 users lost all their access\n" +
			"      - ida: 5 users lost all their access\n" +
			"  To let exactly these through: kubectl studio approve beta\n" +
			"\n" +
			"agency calm: policy Full, no changes\n" +
			"\n" +
			"agency dawn: policy Observe, plan sha256:0000, no changes\n" +
			"\n" +
			"Plan: 1 to create, 1 to adopt, 3 to update, 1 to revoke, 1 invitations.\n" +
			"Held: 2 revocations await approval.\n",
		},
		"nothing to do": {
			in: PlanInput{Agencies: []iamv1.Agency{agency("calm", "", nil)}, Users: []iamv1.StudioUser{user("jo", nil)}},
			want: "" +
				"agency calm: policy Full, no changes\n" +
				"\n" +
				"Plan: 0 to create, 0 to adopt, 0 to update, 0 to revoke, 0 invitations.\n",
		},
		"observe before the operator reported a plan": {
			in: PlanInput{Agencies: []iamv1.Agency{agency("new", iamv1.ManagementObserve, nil)}},
			want: "" +
				"agency new: policy Observe, no plan reported yet\n" +
				"\n" +
				"Plan: 0 to create, 0 to adopt, 0 to update, 0 to revoke, 0 invitations.\n",
		},
		"a plan left from Observe is ignored under Full": {
			in: PlanInput{
				Agencies: []iamv1.Agency{agency("acme", iamv1.ManagementFull, func(a *iamv1.Agency) {
					a.Status.Plan = &iamv1.AgencyPlan{UsersToCreate: 1, PlanHash: "sha256:old"}
				})},
				Users: []iamv1.StudioUser{planned("alex", iamv1.PlannedChanges{Agencies: []string{"acme"}, Record: iamv1.PlannedCreate})},
			},
			want: "" +
				"agency acme: policy Full, no changes\n" +
				"\n" +
				"Plan: 0 to create, 0 to adopt, 0 to update, 0 to revoke, 0 invitations.\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WritePlan(&b, BuildPlan(tc.in)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildPlan(t *testing.T) {
	view := BuildPlan(planFixture())
	wantSummary := PlanSummary{ToCreate: 1, ToAdopt: 1, ToUpdate: 3, ToRevoke: 1, Invitations: 1, EnvironmentsToRecord: 1, RevocationsHeld: 2, Changes: true}
	if diff := cmp.Diff(wantSummary, view.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	var names []string
	for _, a := range view.Agencies {
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{"acme", "beta", "calm", "dawn"}, names); diff != "" {
		t.Errorf("agencies (-want +got):\n%s", diff)
	}
	acme := view.Agencies[0]
	var users []string
	for _, u := range acme.Users {
		users = append(users, u.Name)
	}
	if diff := cmp.Diff([]string{"alex", "ana", "diego", "eli"}, users); diff != "" {
		t.Errorf("acme's users (-want +got):\n%s", diff)
	}
	// The document has each user's whole plan, sorted: eli's grant in "other" too.
	wantEli := iamv1.PlannedChanges{
		Agencies: []string{"acme", "other"}, Record: iamv1.PlannedUpdate,
		Profile: []iamv1.FieldChange{{Field: "email", From: "eli@old.example", To: "eli@example.com"}},
		Grants: []iamv1.GrantChange{
			{Agency: "acme", Environment: "team-sales/leadbot", Add: []iamv1.Role{"Developer"}},
			{Agency: "other", Remove: []iamv1.Role{"Planner"}},
		},
	}
	if diff := cmp.Diff(wantEli, acme.Users[3].Plan); diff != "" {
		t.Errorf("eli's plan (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&PlanTotals{UsersToCreate: 1, RecordsToAdopt: 1, UsersToUpdate: 3, UsersToRevoke: 1, InvitationsToSend: 1, EnvironmentsToRecord: 1}, acme.Totals); diff != "" {
		t.Errorf("acme's totals (-want +got):\n%s", diff)
	}

	t.Run("totals alone are changes", func(t *testing.T) {
		v := BuildPlan(PlanInput{Agencies: []iamv1.Agency{agency("acme", iamv1.ManagementObserve, func(a *iamv1.Agency) {
			a.Status.Plan = &iamv1.AgencyPlan{UsersToRevoke: 1, PlanHash: "sha256:1"}
		})}})
		if !v.Summary.Changes {
			t.Error("an Agency whose totals count a change, users' status not caught up yet: want changes")
		}
	})
	t.Run("an unblock alone is a change", func(t *testing.T) {
		obs := agency("acme", iamv1.ManagementObserve, func(a *iamv1.Agency) { a.Status.Plan = &iamv1.AgencyPlan{PlanHash: "sha256:4"} })
		v := BuildPlan(PlanInput{Agencies: []iamv1.Agency{obs}, Users: []iamv1.StudioUser{
			planned("kim", iamv1.PlannedChanges{Agencies: []string{"acme"}, Grants: []iamv1.GrantChange{{Agency: "acme", Environment: "a/b", Unblock: true}}}),
		}})
		if !v.Summary.Changes || v.Summary.ToUpdate != 1 || len(v.Agencies[0].Users) != 1 {
			t.Errorf("summary %+v: want kim shown, counted as an update", v.Summary)
		}
	})
	t.Run("held revocations alone are changes", func(t *testing.T) {
		v := BuildPlan(PlanInput{Agencies: []iamv1.Agency{agency("beta", "", func(a *iamv1.Agency) {
			a.Status.HeldRevocations = &iamv1.HeldRevocations{Users: 1, PlanHash: "sha256:2"}
		})}})
		if !v.Summary.Changes || v.Summary.RevocationsHeld != 1 {
			t.Errorf("summary %+v: want 1 held, changes", v.Summary)
		}
	})
	t.Run("a user in two observed agencies counts once", func(t *testing.T) {
		obs := func(name string) iamv1.Agency {
			return agency(name, iamv1.ManagementObserve, func(a *iamv1.Agency) { a.Status.Plan = &iamv1.AgencyPlan{PlanHash: "sha256:3"} })
		}
		v := BuildPlan(PlanInput{Agencies: []iamv1.Agency{obs("a"), obs("b")}, Users: []iamv1.StudioUser{
			planned("zed", iamv1.PlannedChanges{Agencies: []string{"a", "b"}, Record: iamv1.PlannedCreate, Invitation: true}),
		}})
		if v.Summary.ToCreate != 1 || v.Summary.Invitations != 1 || len(v.Agencies[0].Users) != 1 || len(v.Agencies[1].Users) != 1 {
			t.Errorf("summary %+v, users per agency %d and %d: want zed in both, counted once", v.Summary, len(v.Agencies[0].Users), len(v.Agencies[1].Users))
		}
	})
}
