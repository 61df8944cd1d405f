package planner

import (
	"strings"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

// DesiredProfile is the store profile a StudioUser asks for.
func DesiredProfile(u *iamv1.StudioUser) store.UserSpec {
	return store.UserSpec{
		Email:       u.Spec.Email,
		DisplayName: u.Spec.DisplayName,
		Type:        cascadeUserType(u.Spec.Type),
		Locale:      u.Spec.Locale,
		Suspended:   u.Spec.Suspended,
	}
}

// ProfileInSync reports whether the store's user already is what want asks for and is
// managed by manager, so no PutUser is needed. A removed user is never in sync: the
// StudioUser exists, so the user must be created again. Emails compare without regard
// to case, as mail systems do.
func ProfileInSync(want store.UserSpec, got store.User, manager string) bool {
	if got.State == store.UserRemoved || got.ManagedBy != manager {
		return false
	}
	have := got.Spec()
	if !strings.EqualFold(have.Email, want.Email) {
		return false
	}
	have.Email = want.Email
	return have == want
}
