package plugin

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// createUser creates a StudioUser labelled plugin-test=<label> and sets its status as
// the operator would have (through the status subresource); it is deleted after t.
func (tc *testCluster) createUser(t *testing.T, label, name string, status iamv1.StudioUserStatus) *iamv1.StudioUser {
	t.Helper()
	ctx := context.Background()
	u := &iamv1.StudioUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"plugin-test": label}},
		Spec:       iamv1.StudioUserSpec{Email: name + "@example.com"},
	}
	if err := tc.admin.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.admin.Delete(ctx, u) })
	u.Status = status
	u.Status.ObservedGeneration = u.Generation
	if err := tc.admin.Status().Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (tc *testCluster) in(d time.Duration) *metav1.Time {
	t := metav1.NewTime(tc.now.Add(d))
	return &t
}

func TestUsersInvitationColumnAndFilters(t *testing.T) {
	tc := startCluster(t)
	pending := func(expires *metav1.Time, conds ...metav1.Condition) iamv1.StudioUserStatus {
		return iamv1.StudioUserStatus{
			State:        iamv1.UserStateInvited,
			Invitation:   &iamv1.InvitationStatus{State: iamv1.InvitationPending, SendCount: 1, SentAt: tc.ago(time.Hour), ExpiresAt: expires},
			CommonStatus: iamv1.CommonStatus{Conditions: conds},
		}
	}
	tc.createUser(t, "invitations", "inv-pat", pending(tc.in(2*time.Hour+30*time.Minute)))
	tc.createUser(t, "invitations", "inv-una", pending(tc.in(3*24*time.Hour), metav1.Condition{
		Type: iamv1.ConditionInvitationUndeliverable, Status: metav1.ConditionTrue, Reason: iamv1.ReasonUndeliverable,
		Message: "the Studio gave up delivering the invitation email (5xx permanent)", LastTransitionTime: metav1.NewTime(tc.now),
	}))
	tc.createUser(t, "invitations", "inv-eve", iamv1.StudioUserStatus{
		State:      iamv1.UserStateInvited,
		Invitation: &iamv1.InvitationStatus{State: iamv1.InvitationExpired, SendCount: 2, Renewals: 1, ExpiresAt: tc.ago(time.Hour)},
		CommonStatus: iamv1.CommonStatus{Conditions: []metav1.Condition{{
			Type: iamv1.ConditionInvitationExpired, Status: metav1.ConditionTrue, Reason: iamv1.ReasonRenewalsExhausted,
			Message: "expired after the last renewal", LastTransitionTime: metav1.NewTime(tc.now),
		}}},
	})
	tc.createUser(t, "invitations", "inv-acc", iamv1.StudioUserStatus{
		State: iamv1.UserStateActive, Invitation: &iamv1.InvitationStatus{State: iamv1.InvitationAccepted, SendCount: 1},
	})
	tc.createUser(t, "invitations", "inv-wit", iamv1.StudioUserStatus{
		State: iamv1.UserStateRemoved, Invitation: &iamv1.InvitationStatus{State: iamv1.InvitationWithdrawn, SendCount: 1},
	})
	tc.createUser(t, "invitations", "inv-non", iamv1.StudioUserStatus{
		State: iamv1.UserStateActive, Invitation: &iamv1.InvitationStatus{State: iamv1.InvitationNotSent},
	})
	const sel = "plugin-test=invitations"

	t.Run("column", func(t *testing.T) {
		tc.run(t, "users", "-l", sel).want(t, ""+
			"NAME      EMAIL                 TYPE   STATE     ENVIRONMENTS   LAST ACTIVE   CREATED   INVITATION\n"+
			"inv-acc   inv-acc@example.com   User   Active    0              -             -         Accepted\n"+
			"inv-eve   inv-eve@example.com   User   Invited   0              -             -         Expired\n"+
			"inv-non   inv-non@example.com   User   Active    0              -             -         -\n"+
			"inv-pat   inv-pat@example.com   User   Invited   0              -             -         Pending 2h left\n"+
			"inv-una   inv-una@example.com   User   Invited   0              -             -         Undeliverable\n"+
			"inv-wit   inv-wit@example.com   User   Removed   0              -             -         Withdrawn\n",
			"", 0)
	})
	t.Run("pending, undeliverable included", func(t *testing.T) {
		tc.run(t, "users", "-l", sel, "--pending", "-o", "name").want(t, ""+
			"studiouser.iam.studio-operator.io/inv-pat\n"+
			"studiouser.iam.studio-operator.io/inv-una\n",
			"", 0)
	})
	t.Run("expired", func(t *testing.T) {
		tc.run(t, "users", "-l", sel, "--expired").want(t, ""+
			"NAME      EMAIL                 TYPE   STATE     ENVIRONMENTS   LAST ACTIVE   CREATED   INVITATION\n"+
			"inv-eve   inv-eve@example.com   User   Invited   0              -             -         Expired\n",
			"", 0)
	})
	t.Run("both: either", func(t *testing.T) {
		tc.run(t, "users", "-l", sel, "--pending", "--expired", "-o", "jsonpath={.items[*].metadata.name}").want(t,
			"inv-eve inv-pat inv-una", "", 0)
	})
	t.Run("nothing matches", func(t *testing.T) {
		tc.run(t, "users", "-l", orgLabel, "--expired").want(t, "", "No resources found\n", 0)
	})
}
