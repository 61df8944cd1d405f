package planner_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

func TestPlanInvitation(t *testing.T) {
	const uid = "0b9e"
	sent := func(count, observed int32) *iamv1.InvitationStatus {
		return &iamv1.InvitationStatus{State: iamv1.InvitationPending, SendCount: count, ResendObserved: observed}
	}
	send := func(n int32) planner.InvitationDecision {
		return planner.InvitationDecision{Send: true, IdempotencyKey: planner.InvitationKey(uid, n), Resend: n}
	}
	cases := map[string]struct {
		in   planner.InvitationInput
		want planner.InvitationDecision
	}{
		"first invitation once the user has a role": {
			in:   planner.InvitationInput{HasAccess: true, StoreState: store.UserInvited},
			want: send(0),
		},
		"no role, no invitation": {
			in: planner.InvitationInput{StoreState: store.UserInvited},
		},
		"send: false (SSO)": {
			in: planner.InvitationInput{Spec: iamv1.Invitation{Send: ptr.To(false)}, HasAccess: true, StoreState: store.UserInvited},
		},
		"send: true explicitly": {
			in:   planner.InvitationInput{Spec: iamv1.Invitation{Send: ptr.To(true)}, HasAccess: true, StoreState: store.UserInvited},
			want: send(0),
		},
		"already sent": {
			in: planner.InvitationInput{Status: sent(1, 0), HasAccess: true, StoreState: store.UserInvited},
		},
		"status says NotSent: send": {
			in:   planner.InvitationInput{Status: &iamv1.InvitationStatus{State: iamv1.InvitationNotSent}, HasAccess: true, StoreState: store.UserInvited},
			want: send(0),
		},
		"resend bumped": {
			in:   planner.InvitationInput{Spec: iamv1.Invitation{Resend: 1}, Status: sent(1, 0), HasAccess: true, StoreState: store.UserInvited},
			want: send(1),
		},
		"resend bumped by more than one sends once for the latest value": {
			in:   planner.InvitationInput{Spec: iamv1.Invitation{Resend: 5}, Status: sent(2, 1), HasAccess: true, StoreState: store.UserInvited},
			want: send(5),
		},
		"resend already observed": {
			in: planner.InvitationInput{Spec: iamv1.Invitation{Resend: 2}, Status: sent(3, 2), HasAccess: true, StoreState: store.UserInvited},
		},
		"resend lowered": {
			in: planner.InvitationInput{Spec: iamv1.Invitation{Resend: 1}, Status: sent(3, 2), HasAccess: true, StoreState: store.UserInvited},
		},
		"created with a resend value: one first invitation keyed by it": {
			in:   planner.InvitationInput{Spec: iamv1.Invitation{Resend: 3}, HasAccess: true, StoreState: store.UserInvited},
			want: send(3),
		},
		"resend waits for a role": {
			in: planner.InvitationInput{Spec: iamv1.Invitation{Resend: 1}, Status: sent(1, 0), StoreState: store.UserInvited},
		},
		"already active (SSO) and never invited: nothing": {
			in: planner.InvitationInput{HasAccess: true, StoreState: store.UserActive},
		},
		"already active but a resend is asked for: sent": {
			in:   planner.InvitationInput{Spec: iamv1.Invitation{Resend: 1}, HasAccess: true, StoreState: store.UserActive},
			want: send(1),
		},
		"removed user: nothing": {
			in: planner.InvitationInput{HasAccess: true, StoreState: store.UserRemoved},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.in.UID = uid
			if diff := cmp.Diff(tc.want, planner.PlanInvitation(tc.in)); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvitationKeyIsStablePerUIDAndCounter(t *testing.T) {
	if planner.InvitationKey("a", 1) != planner.InvitationKey("a", 1) {
		t.Error("same input, different keys")
	}
	for _, other := range []string{planner.InvitationKey("a", 2), planner.InvitationKey("b", 1)} {
		if other == planner.InvitationKey("a", 1) {
			t.Errorf("key %q collides", other)
		}
	}
}
