package failover

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// The organisation of the scenario: one agency with one environment, users
// subjects of one agency-scoped binding (the fan-out).
const (
	users         = 200
	agencyName    = "acme"
	homeNamespace = "team-a"
	envName       = "prod"
	bindingName   = "everyone"
)

// bindingRoles are the roles the fan-out binding grants, sorted as the store keeps
// them.
var bindingRoles = []iamv1.Role{iamv1.RoleAnalyst, iamv1.RolePlanner}

// userName is the name (and store key) of user i.
func userName(i int) string { return fmt.Sprintf("u-%03d", i+1) }

// userEmail is the address of user name; example.com never delivers.
func userEmail(name string) string { return name + "@failover.example.com" }

// createTenancy creates the agency, its environment and the users, none of them
// bound to anything yet.
func createTenancy(ctx context.Context, c client.Client) error {
	objs := []client.Object{
		&iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: agencyName}, Spec: iamv1.AgencySpec{DisplayName: "Acme", HomeNamespace: homeNamespace}},
		&iamv1.Environment{ObjectMeta: metav1.ObjectMeta{Namespace: homeNamespace, Name: envName},
			Spec: iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: agencyName}, DisplayName: "Production"}},
	}
	for i := range users {
		name := userName(i)
		objs = append(objs, &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: iamv1.StudioUserSpec{Email: userEmail(name), DisplayName: "User " + name}})
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// fanoutBinding is the agency-scoped RoleBinding that names every user.
func fanoutBinding() *iamv1.RoleBinding {
	subjects := make([]iamv1.Subject, users)
	for i := range subjects {
		subjects[i] = iamv1.Subject{Name: userName(i)}
	}
	return &iamv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: homeNamespace, Name: bindingName},
		Spec: iamv1.RoleBindingSpec{
			Scope:    iamv1.BindingScope{Agency: agencyName},
			Subjects: subjects,
			Roles:    slices.Clone(bindingRoles),
		},
	}
}

// wantGrants is what the cascade gives each subject of the binding: its roles at
// the agency's scope, and nothing else.
func wantGrants() []store.Grant {
	roles := make([]cascade.Role, len(bindingRoles))
	for i, r := range bindingRoles {
		roles[i] = cascade.Role(r)
	}
	slices.Sort(roles)
	return []store.Grant{{Scope: store.Scope{Agency: agencyName}, Roles: roles}}
}
