package crash

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// checkTheChecker breaks the end state twice on purpose, after the report: a role
// granted in the Studio by hand and an invitation mail lost; the invariants must
// notice both, or a green run would prove nothing.
func checkTheChecker(ctx context.Context, t *testing.T, k checker, final *model) {
	t.Helper()
	if len(final.users) == 0 {
		return
	}
	u := final.users[0]
	held, err := k.store.GetGrants(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	drift := []store.Grant{{Scope: store.Scope{Agency: "crash-a"}, Roles: []cascade.Role{cascade.Administrator}}}
	if len(held.Grants) > 0 {
		drift = slices.Clone(held.Grants)
		drift[0].Roles = append(slices.Clone(drift[0].Roles), cascade.Administrator)
	}
	if _, err := k.store.PutGrants(ctx, store.Caller{}, u, planner.NormalizeGrants(drift)); err != nil {
		t.Fatalf("the checker's own check: grant a role by hand: %v", err)
	}
	if err := removeOneMail(k.mailDir); err != nil {
		t.Fatal(err)
	}
	v, err := k.check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(v[invGrants]) == 0 || len(v[invMails]) == 0 {
		t.Errorf("the invariants missed a role granted by hand or a lost mail:\n%s", v.summary())
	}
}

// removeOneMail deletes the first .eml file of dir.
func removeOneMail(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") {
			return os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return errors.New("the checker's own check: no mail to remove")
}
