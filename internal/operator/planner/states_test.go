package planner_test

import (
	"os"
	"regexp"
	"slices"
	"testing"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// enumOf reads the values of a +kubebuilder:validation:Enum marker placed right above
// "type <name>" in the API's source: the values the CRD accepts.
func enumOf(t *testing.T, file, name string) []string {
	t.Helper()
	b, err := os.ReadFile("../../../api/v1alpha1/" + file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\+kubebuilder:validation:Enum=([A-Za-z;]+)\ntype ` + name + ` `).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no Enum marker above type %s in %s", name, file)
	}
	return regexp.MustCompile(`;`).Split(string(m[1]), -1)
}

// Every store state maps to the API value of the same name, every value the CRD
// accepts is reached (NotSent is the operator's own), and an unknown state maps to
// nothing rather than to a value the CRD would refuse.
func TestStatesMapOneToOne(t *testing.T) {
	users := []store.UserState{store.UserInvited, store.UserActive, store.UserSuspended, store.UserRemoved}
	var got []string
	for _, s := range users {
		v := planner.UserStateOf(s)
		if string(v) != string(s) {
			t.Errorf("store user state %q maps to %q", s, v)
		}
		got = append(got, string(v))
	}
	if want := enumOf(t, "studiouser_types.go", "UserState"); !sameSet(got, want) {
		t.Errorf("user states reached %v, the CRD accepts %v", got, want)
	}
	invitations := []store.InvitationState{store.InvitationPending, store.InvitationAccepted, store.InvitationExpired, store.InvitationWithdrawn}
	got = []string{string(iamv1.InvitationNotSent)}
	for _, s := range invitations {
		v := planner.InvitationStateOf(s)
		if string(v) != string(s) {
			t.Errorf("store invitation state %q maps to %q", s, v)
		}
		got = append(got, string(v))
	}
	if want := enumOf(t, "studiouser_types.go", "InvitationState"); !sameSet(got, want) {
		t.Errorf("invitation states reached %v, the CRD accepts %v", got, want)
	}
	if planner.UserStateOf("Hibernating") != "" || planner.InvitationStateOf("Bounced") != "" {
		t.Error("an unknown store state maps to a value")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
