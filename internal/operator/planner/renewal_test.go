package planner_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

func TestPlanInvitationRenewal(t *testing.T) {
	const uid = "0b9e"
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }
	status := func(state iamv1.InvitationState, expires *metav1.Time, renewals int32) *iamv1.InvitationStatus {
		return &iamv1.InvitationStatus{State: state, ExpiresAt: expires, SendCount: 1 + renewals, ResendObserved: 1, Renewals: renewals}
	}
	in := func(st *iamv1.InvitationStatus, max int32, state store.UserState) planner.InvitationInput {
		return planner.InvitationInput{UID: uid, Spec: iamv1.Invitation{Resend: 1}, Status: st, HasAccess: true, StoreState: state, MaxRenewals: max, Now: now}
	}
	renew := func(n int32) planner.InvitationDecision {
		return planner.InvitationDecision{Send: true, IdempotencyKey: planner.RenewalKey(uid, 1, n), Resend: 1, Renewals: n}
	}
	cases := map[string]struct {
		in   planner.InvitationInput
		want planner.InvitationDecision
	}{
		"pending, not expired: nothing":          {in: in(status(iamv1.InvitationPending, at(time.Minute), 0), 3, store.UserInvited)},
		"pending past its expiry: first renewal": {in: in(status(iamv1.InvitationPending, at(-time.Second), 0), 3, store.UserInvited), want: renew(1)},
		"expiry exactly now counts as expired":   {in: in(status(iamv1.InvitationPending, at(0), 0), 1, store.UserInvited), want: renew(1)},
		"store says Expired: next renewal":       {in: in(status(iamv1.InvitationExpired, at(-time.Hour), 2), 3, store.UserInvited), want: renew(3)},
		"renewals spent":                         {in: in(status(iamv1.InvitationExpired, at(-time.Hour), 3), 3, store.UserInvited)},
		"renewal off (maxRenewals 0)":            {in: in(status(iamv1.InvitationExpired, at(-time.Hour), 0), 0, store.UserInvited)},
		"accepted meanwhile: the user is Active": {in: in(status(iamv1.InvitationPending, at(-time.Second), 0), 3, store.UserActive)},
		"withdrawn is not expired":               {in: in(status(iamv1.InvitationWithdrawn, at(-time.Hour), 0), 3, store.UserInvited)},
		"accepted is not expired":                {in: in(status(iamv1.InvitationAccepted, at(-time.Hour), 0), 3, store.UserInvited)},
		"a resend bump wins and resets renewals": {in: func() planner.InvitationInput {
			i := in(status(iamv1.InvitationExpired, at(-time.Hour), 2), 3, store.UserInvited)
			i.Spec.Resend = 2
			return i
		}(), want: planner.InvitationDecision{Send: true, IdempotencyKey: planner.InvitationKey(uid, 2), Resend: 2}},
		"no access any more: no renewal": {in: func() planner.InvitationInput {
			i := in(status(iamv1.InvitationExpired, at(-time.Hour), 0), 3, store.UserInvited)
			i.HasAccess = false
			return i
		}()},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, planner.PlanInvitation(c.in)); diff != "" {
				t.Errorf("PlanInvitation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenewalKeysAreDistinct(t *testing.T) {
	seen := map[string]bool{planner.InvitationKey("u", 0): true, planner.InvitationKey("u", 1): true}
	for resend := int32(0); resend < 3; resend++ {
		for n := int32(1); n < 4; n++ {
			k := planner.RenewalKey("u", resend, n)
			if seen[k] {
				t.Fatalf("key %q used twice", k)
			}
			seen[k] = true
		}
	}
}
