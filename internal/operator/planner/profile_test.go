package planner_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

func TestDesiredProfile(t *testing.T) {
	u := user("alice", "")
	u.Spec.DisplayName, u.Spec.Locale, u.Spec.Suspended = "Alice", "nl", true
	want := store.UserSpec{Email: "alice@example.com", DisplayName: "Alice", Type: cascade.UserTypeUser, Locale: "nl", Suspended: true}
	if diff := cmp.Diff(want, planner.DesiredProfile(u)); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	if got := planner.DesiredProfile(user("ann", iamv1.UserTypeAgent)).Type; got != cascade.UserTypeAgent {
		t.Errorf("agent type = %q", got)
	}
}

func TestProfileInSync(t *testing.T) {
	want := store.UserSpec{Email: "alice@example.com", DisplayName: "Alice", Type: cascade.UserTypeUser, Locale: "en"}
	stored := func(edit func(*store.User)) store.User {
		u := store.User{Key: "alice", Email: want.Email, DisplayName: want.DisplayName, Type: want.Type, Locale: want.Locale,
			State: store.UserInvited, ManagedBy: "default"}
		if edit != nil {
			edit(&u)
		}
		return u
	}
	cases := map[string]struct {
		got  store.User
		sync bool
	}{
		"same":                      {got: stored(nil), sync: true},
		"email differs in case":     {got: stored(func(u *store.User) { u.Email = "Alice@Example.com" }), sync: true},
		"display name changed":      {got: stored(func(u *store.User) { u.DisplayName = "Al" })},
		"suspended in the store":    {got: stored(func(u *store.User) { u.Suspended = true })},
		"type changed":              {got: stored(func(u *store.User) { u.Type = cascade.UserTypeAgent })},
		"removed":                   {got: stored(func(u *store.User) { u.State = store.UserRemoved })},
		"unmanaged (to be adopted)": {got: stored(func(u *store.User) { u.ManagedBy = "" })},
		"another manager":           {got: stored(func(u *store.User) { u.ManagedBy = "other" })},
		"state does not matter":     {got: stored(func(u *store.User) { u.State = store.UserActive }), sync: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := planner.ProfileInSync(want, tc.got, "default"); got != tc.sync {
				t.Errorf("ProfileInSync = %v, want %v", got, tc.sync)
			}
		})
	}
}
