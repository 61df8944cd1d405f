package planner_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
)

// FuzzPlanUserAgreesWithStore checks, for arbitrary sets of bindings, that what the
// operator shows (status.access) is what the store will compute from the grant set
// the operator sends: the store runs cascade.Resolve over its environments ("ns.name")
// and the grants, without binding names. It also checks every sent grant is one the
// store accepts.
func FuzzPlanUserAgreesWithStore(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{7, 7, 7, 1, 0, 200, 13, 99, 42, 5, 5, 5, 5})
	f.Add([]byte{255, 128, 64, 32, 16, 8, 4, 2, 1, 0, 3, 9, 27, 81})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := world()
		userName := []string{"alice", "ann"}[len(data)%2]
		u := s.Users[userName]
		u.Spec.Suspended = len(data)%7 == 0
		bindings := bindingsFrom(data, userName)

		plan := planner.PlanUser(u, bindings, s)

		for i, g := range plan.Grants {
			kind := cascade.ScopeAgency
			if g.Scope.Environment != "" {
				kind = cascade.ScopeEnvironment
			}
			if err := cascade.ValidateRoles(kind, g.Roles); err != nil {
				t.Fatalf("grant %d %+v would be refused: %v", i, g, err)
			}
		}
		var envs []cascade.Environment
		for key, env := range s.Environments {
			if res := planner.ResolveEnvironment(env, s); res.Valid() {
				envs = append(envs, cascade.Environment{Key: planner.StoreEnvironmentKey(key), Agency: res.Agency})
			}
		}
		var grants []cascade.Grant
		for _, g := range plan.Grants {
			grants = append(grants, cascade.Grant{Scope: cascade.Scope{Agency: g.Scope.Agency, Environment: g.Scope.Environment}, Roles: g.Roles})
		}
		storeUser := cascade.User{Type: cascade.UserType(u.Spec.Type), Suspended: u.Spec.Suspended}
		type row struct {
			Env, Agency, Source string
			Roles               string
		}
		var want, got []row
		for _, a := range cascade.Resolve(storeUser, grants, envs) {
			want = append(want, row{strings.Replace(a.Environment, ".", "/", 1), a.Agency, string(a.Source), fmt.Sprint(a.Roles)})
		}
		for _, a := range plan.Access {
			got = append(got, row{a.Environment, a.Agency, string(a.Source), fmt.Sprint(a.Roles)})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("status.access differs from the store's view (-store +operator):\n%s", diff)
		}
	})
}

// bindingsFrom builds bindings naming user from fuzz bytes, 3 bytes per binding:
// scope, roles bitmask, flags.
func bindingsFrom(data []byte, user string) []iamv1.RoleBinding {
	scopes := []struct{ ns, env, agency string }{
		{ns: "team-a", agency: "acme"}, {ns: "team-b", agency: "acme"}, {ns: "globex", agency: "globex"},
		{ns: "lab", agency: "labelled"}, {ns: "team-a", agency: "initech"},
		{ns: "team-a", env: "prod"}, {ns: "team-a", env: "dev"}, {ns: "team-b", env: "web"},
		{ns: "team-b", env: "chat"}, {ns: "team-c", env: "sel"}, {ns: "team-b", env: "nolabel"},
		{ns: "globex", env: "bot"}, {ns: "lab", env: "home-bot"}, {ns: "team-a", env: "gone"},
	}
	var out []iamv1.RoleBinding
	for i := 0; i+2 < len(data) && len(out) < 12; i += 3 {
		sc := scopes[int(data[i])%len(scopes)]
		var roles []iamv1.Role
		for bit, r := range cascade.AssignableRoles {
			if int(data[i+1])>>(bit%8)&1 == 1 && (bit < 8) == (data[i+2]&1 == 0) {
				if sc.env != "" && r == cascade.OrganisationManager {
					continue
				}
				roles = append(roles, iamv1.Role(r))
			}
		}
		name := fmt.Sprintf("b%d", i)
		var b iamv1.RoleBinding
		if sc.env != "" {
			b = envBinding(sc.ns, name, sc.env, subjects(user, "bob"), roles...)
		} else {
			if len(roles) == 0 {
				roles = []iamv1.Role{iamv1.RoleAnalyst}
			}
			b = agencyBinding(sc.ns, name, sc.agency, subjects(user), roles...)
		}
		if data[i+2]&6 == 6 {
			b = *deleting(&b)
		}
		out = append(out, b)
	}
	return out
}
