package argocdhealth

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
)

// TestSamplesGiveTheAccessTheirCommentsDescribe resolves the sample organisation with
// internal/cascade, so the samples demonstrate what they claim to: an agency-wide
// grant, an environment override, a block, an agent and a suspended user.
func TestSamplesGiveTheAccessTheirCommentsDescribe(t *testing.T) {
	var (
		users    []iamv1.StudioUser
		bindings []iamv1.RoleBinding
		envs     []cascade.Environment
	)
	for _, obj := range renderSamples(t) {
		switch obj.GetKind() {
		case "StudioUser":
			users = append(users, decode[iamv1.StudioUser](t, obj))
		case "RoleBinding":
			bindings = append(bindings, decode[iamv1.RoleBinding](t, obj))
		case "Environment":
			e := decode[iamv1.Environment](t, obj)
			envs = append(envs, cascade.Environment{Key: e.Namespace + "/" + e.Name, Agency: e.Spec.AgencyRef.Name})
		}
	}

	type access struct {
		Roles  []cascade.Role
		Source cascade.Source
		Notify bool
	}
	want := map[string]map[string]access{
		"olivia": {
			"team-sales/leadbot":    {Roles: []cascade.Role{cascade.OrganisationManager}, Source: cascade.SourceAgency},
			"team-support/webchat":  {Roles: []cascade.Role{cascade.OrganisationManager}, Source: cascade.SourceAgency},
			"team-support/whatsapp": {Roles: []cascade.Role{cascade.OrganisationManager}, Source: cascade.SourceAgency},
		},
		"ana": { // blocked on the lead bot
			"team-support/webchat":  {Roles: []cascade.Role{cascade.Analyst}, Source: cascade.SourceAgency},
			"team-support/whatsapp": {Roles: []cascade.Role{cascade.Analyst}, Source: cascade.SourceAgency},
		},
		"diego": { // overridden on the lead bot
			"team-sales/leadbot":    {Roles: []cascade.Role{cascade.ContentManager, cascade.Developer}, Source: cascade.SourceEnvironment},
			"team-support/webchat":  {Roles: []cascade.Role{cascade.Analyst}, Source: cascade.SourceAgency},
			"team-support/whatsapp": {Roles: []cascade.Role{cascade.Analyst}, Source: cascade.SourceAgency},
		},
		"alex": {
			"team-support/webchat": {Roles: []cascade.Role{cascade.Agent}, Source: cascade.SourceEnvironment, Notify: true},
		},
		"sofia": {
			"team-support/whatsapp": {Roles: []cascade.Role{cascade.Operator}, Source: cascade.SourceEnvironment, Notify: true},
		},
		"sam": {}, // suspended
	}

	got := make(map[string]map[string]access, len(users))
	for _, u := range users {
		var grants []cascade.Grant
		for _, b := range bindings {
			for _, s := range b.Spec.Subjects {
				if s.Name != u.Name {
					continue
				}
				g := cascade.Grant{Name: b.Namespace + "/" + b.Name, Scope: cascade.Scope{Agency: b.Spec.Scope.Agency}}
				if b.Spec.Scope.Environment != "" {
					g.Scope = cascade.Scope{Environment: b.Namespace + "/" + b.Spec.Scope.Environment}
				}
				for _, r := range b.Spec.Roles {
					g.Roles = append(g.Roles, cascade.Role(r))
				}
				grants = append(grants, g)
			}
		}
		user := cascade.User{Type: cascade.UserType(u.Spec.Type), Suspended: u.Spec.Suspended}
		got[u.Name] = map[string]access{}
		for _, a := range cascade.Resolve(user, grants, envs) {
			got[u.Name][a.Environment] = access{Roles: a.Roles, Source: a.Source, Notify: a.Notify}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("effective access of the samples (-want +got):\n%s", diff)
	}
}

func decode[T any](t *testing.T, obj *unstructured.Unstructured) T {
	t.Helper()
	var out T
	b, err := obj.MarshalJSON()
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return out
}
