package planner

import (
	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

// UserStateOf is status.state for a user the store has in state s. A state the API
// does not know (a newer store) is left out rather than written: the CRD's enum would
// refuse the whole status.
func UserStateOf(s store.UserState) iamv1.UserState {
	switch s {
	case store.UserInvited:
		return iamv1.UserStateInvited
	case store.UserActive:
		return iamv1.UserStateActive
	case store.UserSuspended:
		return iamv1.UserStateSuspended
	case store.UserRemoved:
		return iamv1.UserStateRemoved
	}
	return ""
}

// InvitationStateOf is status.invitation.state for an invitation the store has in
// state s; like UserStateOf, an unknown state is left out. NotSent is the operator's
// own: the store has no invitation then.
func InvitationStateOf(s store.InvitationState) iamv1.InvitationState {
	switch s {
	case store.InvitationPending:
		return iamv1.InvitationPending
	case store.InvitationAccepted:
		return iamv1.InvitationAccepted
	case store.InvitationExpired:
		return iamv1.InvitationExpired
	case store.InvitationWithdrawn:
		return iamv1.InvitationWithdrawn
	}
	return ""
}
