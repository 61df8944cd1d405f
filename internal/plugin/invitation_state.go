package plugin

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// Invitation cells of the users overview besides the states themselves.
const (
	cellUndeliverable = "Undeliverable"
	cellPastExpiry    = "Pending, past expiry"
)

// InvitationCell says where u's latest invitation stands, for the INVITATION
// column: "Pending 3d left" (coarse: the largest unit, rounded down), Undeliverable
// when the Studio gave up delivering a pending one (condition InvitationUndeliverable
// True: only a new invitation can reach the person), Accepted, Expired, Withdrawn,
// and "-" when none was sent.
func InvitationCell(u *iamv1.StudioUser, now time.Time) string {
	inv := u.Status.Invitation
	if inv == nil {
		return none
	}
	switch inv.State {
	case iamv1.InvitationPending:
		switch {
		case meta.IsStatusConditionTrue(u.Status.Conditions, iamv1.ConditionInvitationUndeliverable):
			return cellUndeliverable
		case inv.ExpiresAt == nil:
			return string(inv.State)
		case !now.Before(inv.ExpiresAt.Time):
			// The operator has not seen it expire yet.
			return cellPastExpiry
		}
		return "Pending " + duration.ShortHumanDuration(inv.ExpiresAt.Sub(now)) + " left"
	case iamv1.InvitationAccepted, iamv1.InvitationExpired, iamv1.InvitationWithdrawn:
		return string(inv.State)
	}
	return none
}

// InvitationFilter selects users by invitation state for users --pending/--expired;
// with both set a user matching either is kept, with neither every user.
type InvitationFilter struct {
	// Pending keeps users whose invitation is waiting to be accepted (state
	// Pending), undeliverable ones included: they are still outstanding, and the
	// column tells them apart.
	Pending bool
	// Expired keeps users whose invitation expired unaccepted (state Expired).
	Expired bool
}

// Keep reports whether u passes the filter.
func (f InvitationFilter) Keep(u *iamv1.StudioUser) bool {
	if !f.Pending && !f.Expired {
		return true
	}
	if u.Status.Invitation == nil {
		return false
	}
	state := u.Status.Invitation.State
	return (f.Pending && state == iamv1.InvitationPending) || (f.Expired && state == iamv1.InvitationExpired)
}
