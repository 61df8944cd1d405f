package plugin

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// The operator's status, as it would be with two revocations held in acme, is shown
// by plan and approved by approve; an agency holding nothing has nothing to approve.
func TestPlanAndApproveCommands(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	const hash = "sha256:5e1f"
	acme := &iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: "acme-held"}, Spec: iamv1.AgencySpec{HomeNamespace: "acme"}}
	calm := &iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: "calm"}, Spec: iamv1.AgencySpec{HomeNamespace: "calm"}}
	for _, a := range []*iamv1.Agency{acme, calm} {
		if err := tc.admin.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tc.admin.Delete(ctx, a) })
	}
	acme.Status.HeldRevocations = &iamv1.HeldRevocations{Users: 2, PlanHash: hash}
	if err := tc.admin.Status().Update(ctx, acme); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"held-hal", "held-ida", "free-jo"} {
		u := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: iamv1.StudioUserSpec{Email: name + "@example.com"}}
		if err := tc.admin.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tc.admin.Delete(ctx, u) })
		if strings.HasPrefix(name, "held") {
			meta.SetStatusCondition(&u.Status.Conditions, metav1.Condition{Type: iamv1.ConditionStalled, Status: metav1.ConditionTrue,
				Reason: iamv1.ReasonRevocationHeld, Message: `revocation held, the user keeps its access there until it is approved (kubectl studio approve AGENCY): agency "acme-held": 5 users lost all their access`})
			if err := tc.admin.Status().Update(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Held revocations are changes to review: exit 2, as for an Observe plan. Users
	// are named, their emails are not shown.
	tc.run(t, "plan", "acme-held").want(t, ""+
		"agency acme-held: policy Full\n"+
		"  2 revocations held, plan "+hash+"\n"+
		"      - held-hal: 5 users lost all their access\n"+
		"      - held-ida: 5 users lost all their access\n"+
		"  To let exactly these through: kubectl studio approve acme-held\n"+
		"\n"+
		"Plan: 0 to create, 0 to adopt, 0 to update, 0 to revoke, 0 invitations.\n"+
		"Held: 2 revocations await approval.\n",
		"", ExitChanges)
	tc.run(t, "plan", "calm").want(t, ""+
		"agency calm: policy Full, no changes\n"+
		"\n"+
		"Plan: 0 to create, 0 to adopt, 0 to update, 0 to revoke, 0 invitations.\n",
		"", ExitOK)

	tc.run(t, "approve", "acme-held").want(t, "agency acme-held: approved plan "+hash+" (2 revocations)\n", "", 0)
	if err := tc.admin.Get(ctx, client.ObjectKeyFromObject(acme), acme); err != nil {
		t.Fatal(err)
	}
	if got := acme.Annotations[iamv1.AnnotationApproveRevocations]; got != hash {
		t.Errorf("approve set the annotation to %q, want %q", got, hash)
	}
	if r := tc.run(t, "approve", "calm"); r.code == 0 || !strings.Contains(r.errOut, "nothing to approve") {
		t.Errorf("approve without holds: code %d, stderr %q", r.code, r.errOut)
	}
}
