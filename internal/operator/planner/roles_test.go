package planner

import (
	"slices"
	"testing"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
)

// apiRoles are the Role constants of api/v1alpha1, every one of them.
var apiRoles = []iamv1.Role{
	iamv1.RoleAgent, iamv1.RoleOperator, iamv1.RoleContentManager, iamv1.RoleAnalyst, iamv1.RoleDeveloper,
	iamv1.RoleProducer, iamv1.RolePlanner, iamv1.RoleEnvironmentManager, iamv1.RoleOrganisationManager,
	iamv1.RoleAdministrator, iamv1.RoleSupervisor,
}

// Every API role is a role of the cascade, assignable exactly when the cascade says
// so, and every role of the cascade has its API constant: a role added to one list
// and not the other fails here.
func TestRolesMirrorTheCascade(t *testing.T) {
	cascadeRoles := append(slices.Clone(cascade.AssignableRoles), cascade.Supervisor)
	for _, r := range apiRoles {
		c := CascadeRole(r)
		if !c.Known() {
			t.Errorf("API role %s is no role of the cascade", r)
		}
		if back := APIRole(c); back != r {
			t.Errorf("%s converts back to %s", r, back)
		}
	}
	for _, c := range cascadeRoles {
		if !slices.Contains(apiRoles, APIRole(c)) {
			t.Errorf("cascade role %s has no API constant", c)
		}
	}
	if len(apiRoles) != len(cascadeRoles) {
		t.Errorf("%d API roles, %d cascade roles", len(apiRoles), len(cascadeRoles))
	}
	if got := CascadeRoles(APIRoles(cascade.AssignableRoles)); !slices.Equal(got, cascade.AssignableRoles) {
		t.Errorf("round trip of the assignable roles = %v", got)
	}
	if APIRoles(nil) == nil || CascadeRoles(nil) == nil {
		t.Error("an empty list of roles became nil")
	}
}
