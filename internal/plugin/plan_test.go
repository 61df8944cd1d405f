package plugin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// createAgency creates an Agency and sets its status as the operator would have;
// it is deleted after t.
func (tc *testCluster) createAgency(t *testing.T, name string, spec iamv1.AgencySpec, status iamv1.AgencyStatus) *iamv1.Agency {
	t.Helper()
	ctx := context.Background()
	a := &iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	if err := tc.admin.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.admin.Delete(ctx, a) })
	a.Status = status
	a.Status.ObservedGeneration = a.Generation
	if err := tc.admin.Status().Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	return a
}

// plannedStatus is the status of a StudioUser under an agency under Observe.
func plannedStatus(p iamv1.PlannedChanges) iamv1.StudioUserStatus {
	return iamv1.StudioUserStatus{
		Plan: &p,
		CommonStatus: iamv1.CommonStatus{Conditions: []metav1.Condition{{
			Type: iamv1.ConditionPlanned, Status: metav1.ConditionTrue, Reason: iamv1.ReasonObserveOnly,
			Message: "agency " + strings.Join(p.Agencies, ", ") + " under Observe", LastTransitionTime: metav1.Now(),
		}}},
	}
}

func TestPlanCommand(t *testing.T) {
	tc := startCluster(t)
	const hash = "sha256:7d3a"
	totals := iamv1.AgencyPlan{UsersToCreate: 1, RecordsToAdopt: 1, UsersToUpdate: 1, UsersToRevoke: 1, InvitationsToSend: 1, PlanHash: hash}
	tc.createAgency(t, "obs", iamv1.AgencySpec{HomeNamespace: "acme", ManagementPolicy: iamv1.ManagementObserve},
		iamv1.AgencyStatus{Plan: &totals})
	plans := map[string]iamv1.PlannedChanges{
		"obs-new": {Agencies: []string{"obs"}, Record: iamv1.PlannedCreate, Invitation: true,
			Grants: []iamv1.GrantChange{{Agency: "obs", Environment: "team-support/webchat", Add: []iamv1.Role{"Agent", "Operator"}}}},
		"obs-old": {Agencies: []string{"obs"}, Record: iamv1.PlannedAdopt,
			Profile: []iamv1.FieldChange{{Field: "email", From: "OLD@example.com", To: "obs-old@example.com"}, {Field: "locale", From: "en", To: "nl"}},
			Grants:  []iamv1.GrantChange{{Agency: "obs", Remove: []iamv1.Role{"Administrator"}}, {Agency: "obs", Environment: "team-sales/leadbot", Block: true}}},
	}
	for name, p := range plans {
		tc.createUser(t, "plan", name, plannedStatus(p))
	}

	t.Run("changes: exit 2", func(t *testing.T) {
		r := tc.run(t, "plan", "obs")
		r.want(t, ""+
			"agency obs: policy Observe, plan "+hash+"\n"+
			"  + obs-new (create)\n"+
			"      + Agent in environment team-support/webchat\n"+
			"      + Operator in environment team-support/webchat\n"+
			"      + invitation email\n"+
			"  ~ obs-old (adopt)\n"+
			"      ~ email: \"OLD@example.com\" → \"obs-old@example.com\"\n"+
			"      ~ locale: \"en\" → \"nl\"\n"+
			"      - Administrator in agency obs\n"+
			"      - roles inherited from agency obs in environment team-sales/leadbot (block)\n"+
			"\n"+
			"Plan: 1 to create, 1 to adopt, 1 to update, 1 to revoke, 1 invitations.\n",
			"", ExitChanges)
		if strings.Contains(r.out, "obs-new@example.com") {
			t.Error("the output shows an email that does not change")
		}
	})
	t.Run("json round trip", func(t *testing.T) {
		r := tc.run(t, "plan", "--agency", "obs", "-o", "json")
		r.want(t, r.out, "", ExitChanges)
		var got PlanView
		if err := json.Unmarshal([]byte(r.out), &got); err != nil {
			t.Fatalf("plan -o json: %v\n%s", err, r.out)
		}
		want := PlanView{
			Agencies: []AgencyPlanView{{
				Name: "obs", ManagementPolicy: iamv1.ManagementObserve, PlanHash: hash,
				Totals: &PlanTotals{UsersToCreate: 1, RecordsToAdopt: 1, UsersToUpdate: 1, UsersToRevoke: 1, InvitationsToSend: 1},
				Users:  []UserPlanView{{Name: "obs-new", Plan: plans["obs-new"]}, {Name: "obs-old", Plan: plans["obs-old"]}},
			}},
			Summary: PlanSummary{ToCreate: 1, ToAdopt: 1, ToUpdate: 1, ToRevoke: 1, Invitations: 1, Changes: true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("yaml has the same document", func(t *testing.T) {
		r := tc.run(t, "plan", "obs", "-o", "yaml")
		var got PlanView
		if err := yaml.Unmarshal([]byte(r.out), &got); err != nil || r.code != ExitChanges {
			t.Fatalf("plan -o yaml: code %d, %v\n%s", r.code, err, r.out)
		}
		if len(got.Agencies) != 1 || len(got.Agencies[0].Users) != 2 || got.Agencies[0].PlanHash != hash {
			t.Errorf("plan -o yaml:\n%s", r.out)
		}
	})
	t.Run("no changes: exit 0", func(t *testing.T) {
		tc.run(t, "plan", "acme").want(t, ""+
			"agency acme: policy Full, no changes\n"+
			"\n"+
			"Plan: 0 to create, 0 to adopt, 0 to update, 0 to revoke, 0 invitations.\n",
			"", ExitOK)
	})
	t.Run("every agency", func(t *testing.T) {
		r := tc.run(t, "plan")
		r.want(t, r.out, "", ExitChanges)
		if !strings.HasPrefix(r.out, "agency acme: policy Full, no changes\n\nagency obs: policy Observe, plan "+hash+"\n") ||
			!strings.HasSuffix(r.out, "\nPlan: 1 to create, 1 to adopt, 1 to update, 1 to revoke, 1 invitations.\n") {
			t.Errorf("plan of every agency:\n%s", r.out)
		}
	})
	t.Run("unknown agency: exit 1", func(t *testing.T) {
		tc.run(t, "plan", "nope").want(t, "", "Error from server (NotFound): agencies.iam.studio-operator.io \"nope\" not found\n", ExitError)
	})
	t.Run("agency given twice", func(t *testing.T) {
		tc.run(t, "plan", "obs", "--agency", "acme").want(t, "",
			"error: give the agency once: either as the AGENCY argument (\"obs\") or with --agency (\"acme\")\n", ExitError)
	})
	t.Run("bad output", func(t *testing.T) {
		tc.run(t, "plan", "obs", "-o", "wide").want(t, "",
			"error: unable to match a printer suitable for the output format \"wide\", allowed formats are: json,yaml\n", ExitError)
	})
	t.Run("stale plan: a warning", func(t *testing.T) {
		a := tc.createAgency(t, "edited", iamv1.AgencySpec{HomeNamespace: "acme", ManagementPolicy: iamv1.ManagementObserve},
			iamv1.AgencyStatus{Plan: &iamv1.AgencyPlan{PlanHash: "sha256:e0"}})
		a.Spec.DisplayName = "Edited since" // generation 2; the operator saw 1
		if err := tc.admin.Update(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		tc.run(t, "plan", "edited").want(t, ""+
			"agency edited: policy Observe, plan sha256:e0, no changes\n"+
			"\n"+
			"Plan: 0 to create, 0 to adopt, 0 to update, 0 to revoke, 0 invitations.\n",
			"Warning: agency \"edited\" changed since the operator last reconciled it (generation 2, observed 1); its plan may be out of date\n",
			ExitOK)
	})
	t.Run("observe without a plan yet: exit 1", func(t *testing.T) {
		tc.createAgency(t, "fresh", iamv1.AgencySpec{HomeNamespace: "acme", ManagementPolicy: iamv1.ManagementObserve}, iamv1.AgencyStatus{})
		tc.run(t, "plan", "fresh").want(t, ""+
			"agency fresh: policy Observe, no plan reported yet\n"+
			"\n"+
			"Plan: 0 to create, 0 to adopt, 0 to update, 0 to revoke, 0 invitations.\n",
			"error: agency \"fresh\" is under managementPolicy Observe but has no status.plan yet: the operator has not reported what Full would change, so plan cannot tell; retry once it has reconciled the Agency\n",
			ExitError)
	})
}
