package planner

import (
	"slices"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

// UserStateOf is status.state for a user the store has in state s. A state the API
// does not know (a newer store) is left out rather than written: the CRD's enum would
// refuse the whole status.
func UserStateOf(s store.UserState) iamv1.UserState {
	return sameName(s, iamv1.UserStateInvited, iamv1.UserStateActive, iamv1.UserStateSuspended, iamv1.UserStateRemoved)
}

// InvitationStateOf is status.invitation.state for an invitation the store has in
// state s; like UserStateOf, an unknown state is left out. NotSent is the operator's
// own: the store has no invitation then.
func InvitationStateOf(s store.InvitationState) iamv1.InvitationState {
	return sameName(s, iamv1.InvitationPending, iamv1.InvitationAccepted, iamv1.InvitationExpired, iamv1.InvitationWithdrawn)
}

// sameName is the API value named like the store's s, among known; "" when none is.
func sameName[S, A ~string](s S, known ...A) A {
	if slices.Contains(known, A(s)) {
		return A(s)
	}
	return ""
}
