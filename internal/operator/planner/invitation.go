package planner

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

// InvitationInput is what the invitation decision depends on.
type InvitationInput struct {
	// UID of the StudioUser: with the resend counter it makes the idempotency key.
	UID types.UID
	// Spec is spec.invitation.
	Spec iamv1.Invitation
	// Status is status.invitation (nil before the operator first looked).
	Status *iamv1.InvitationStatus
	// HasAccess is true when the user has at least one effective role.
	HasAccess bool
	// StoreState is the user's state in the store.
	StoreState store.UserState
	// MaxRenewals is spec.invitation.autoRenew.maxRenewals (0: never renew).
	MaxRenewals int32
	// Now decides whether a pending invitation has expired.
	Now time.Time
}

// InvitationDecision says whether to call SendInvitation and with which key.
type InvitationDecision struct {
	Send bool
	// IdempotencyKey is derived from the object's UID and the resend counter, so a
	// retry, a crash between sending and recording, or a restart repeats the same
	// request, and the store sends no second email.
	IdempotencyKey string
	// Resend is the spec.invitation.resend value acted on (status resendObserved).
	Resend int32
	// Renewals is status.invitation.renewals after the send: one more than before
	// for a renewal, 0 for a requested send.
	Renewals int32
}

// PlanInvitation decides whether an invitation is due: the first one once the user
// has a role (unless spec.invitation.send is false, or the person is already active in
// the Studio, e.g. through SSO), another each time spec.invitation.resend exceeds
// status.invitation.resendObserved, and a renewal when the latest expired without
// being accepted and spec.invitation.autoRenew allows one more.
func PlanInvitation(in InvitationInput) InvitationDecision {
	if in.Spec.Send != nil && !*in.Spec.Send {
		return InvitationDecision{}
	}
	if !in.HasAccess || in.StoreState == store.UserRemoved {
		return InvitationDecision{}
	}
	var sent, observed int32
	if in.Status != nil {
		sent, observed = in.Status.SendCount, in.Status.ResendObserved
	}
	requested := in.Spec.Resend
	switch {
	case sent == 0 && requested <= observed && in.StoreState == store.UserActive:
		return InvitationDecision{}
	case sent == 0 || requested > observed:
		return InvitationDecision{Send: true, IdempotencyKey: InvitationKey(in.UID, requested), Resend: requested}
	case Expired(in.Status, in.Now) && in.StoreState == store.UserInvited && in.Status.Renewals < in.MaxRenewals:
		n := in.Status.Renewals + 1
		return InvitationDecision{Send: true, IdempotencyKey: RenewalKey(in.UID, observed, n), Resend: observed, Renewals: n}
	default:
		return InvitationDecision{}
	}
}

// Expired reports whether the invitation st describes has expired by now: the store
// said so, or it was pending and its expiry has passed.
func Expired(st *iamv1.InvitationStatus, now time.Time) bool {
	switch {
	case st == nil:
		return false
	case st.State == iamv1.InvitationExpired:
		return true
	default:
		return st.State == iamv1.InvitationPending && st.ExpiresAt != nil && !now.Before(st.ExpiresAt.Time)
	}
}

// RenewalKey is the Idempotency-Key of renewal n after the invitation for resend
// counter resend: each renewal is its own send, and each is sent once.
func RenewalKey(uid types.UID, resend, n int32) string {
	return fmt.Sprintf("%s/renewal/%d", InvitationKey(uid, resend), n)
}

// InvitationKey is the Idempotency-Key of the invitation a StudioUser with uid gets
// for resend counter n.
func InvitationKey(uid types.UID, n int32) string {
	return fmt.Sprintf("studiouser/%s/invitation/%d", uid, n)
}
