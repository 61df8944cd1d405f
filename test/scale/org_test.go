package scale

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

func TestNewOrgCounts(t *testing.T) {
	tests := []struct {
		name  string
		shape OrgShape
		want  OrgCounts
	}{
		{"make bench-e2e, 2000 users", OrgShape{Users: 2000, Agencies: 4, EnvsPerAgency: 25, EnvBindingsPerUser: 2, AgencySubjects: 100, FanoutSubjects: 1000},
			OrgCounts{Namespaces: 4, Agencies: 4, Environments: 100, Users: 2000, EnvBindings: 4000, AgencyBindings: 11, FanoutSubjects: 1000}},
		{"make bench-e2e, 10000 users", OrgShape{Users: 10000, Agencies: 4, EnvsPerAgency: 25, EnvBindingsPerUser: 2, AgencySubjects: 100, FanoutSubjects: 1000},
			OrgCounts{Namespaces: 4, Agencies: 4, Environments: 100, Users: 10000, EnvBindings: 20000, AgencyBindings: 91, FanoutSubjects: 1000}},
		{"fewer users than the fan-out", OrgShape{Users: 500, Agencies: 4, EnvsPerAgency: 25, EnvBindingsPerUser: 2, AgencySubjects: 100, FanoutSubjects: 1000},
			OrgCounts{Namespaces: 4, Agencies: 4, Environments: 100, Users: 500, EnvBindings: 1000, AgencyBindings: 1, FanoutSubjects: 500}},
		{"smoke test", OrgShape{Users: 20, Agencies: 1, EnvsPerAgency: 2, EnvBindingsPerUser: 2, AgencySubjects: 5, FanoutSubjects: 10},
			OrgCounts{Namespaces: 1, Agencies: 1, Environments: 2, Users: 20, EnvBindings: 40, AgencyBindings: 3, FanoutSubjects: 10}},
		{"a partial last binding", OrgShape{Users: 27, Agencies: 2, EnvsPerAgency: 3, EnvBindingsPerUser: 1, AgencySubjects: 5, FanoutSubjects: 10},
			OrgCounts{Namespaces: 2, Agencies: 2, Environments: 6, Users: 27, EnvBindings: 27, AgencyBindings: 5, FanoutSubjects: 10}},
		{"no environment bindings", OrgShape{Users: 3, Agencies: 1, EnvsPerAgency: 1, EnvBindingsPerUser: 0, AgencySubjects: 1, FanoutSubjects: 1},
			OrgCounts{Namespaces: 1, Agencies: 1, Environments: 1, Users: 3, EnvBindings: 0, AgencyBindings: 3, FanoutSubjects: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := NewOrg(tt.shape)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Counts(); got != tt.want {
				t.Errorf("counts = %+v, want %+v", got, tt.want)
			}
			if got, want := len(o.Objects()), tt.want.Tracked(); got != want {
				t.Errorf("objects = %d, want %d", got, want)
			}
			checkOrg(t, o)
		})
	}
}

// checkOrg checks the invariants the benchmark relies on: valid unique names,
// bindings in the right namespaces, every user named by exactly one agency binding,
// the fan-out binding first and in ag-1, environment bindings spread evenly.
func checkOrg(t *testing.T, o *Org) {
	t.Helper()
	seen := map[string]bool{}
	for _, obj := range o.Objects() {
		key := obj.GetObjectKind().GroupVersionKind().Kind + fmtType(obj) + "/" + obj.GetNamespace() + "/" + obj.GetName()
		if seen[key] {
			t.Errorf("duplicate object %s", key)
		}
		seen[key] = true
		if errs := validation.IsDNS1123Subdomain(obj.GetName()); len(errs) > 0 {
			t.Errorf("name %q: %v", obj.GetName(), errs)
		}
	}
	agencyNS := map[string]string{}
	for _, a := range o.Agencies {
		agencyNS[a.Name] = a.Spec.HomeNamespace
		if a.Spec.HomeNamespace != a.Name {
			t.Errorf("agency %s: homeNamespace %s", a.Name, a.Spec.HomeNamespace)
		}
	}
	envNS := map[string]string{}
	for _, e := range o.Envs {
		envNS[e.Name] = e.Namespace
		if agencyNS[e.Spec.AgencyRef.Name] != e.Namespace {
			t.Errorf("environment %s/%s: agency %s lives elsewhere", e.Namespace, e.Name, e.Spec.AgencyRef.Name)
		}
	}
	perEnv := map[string]int{}
	perUser := map[string]int{}
	for _, b := range o.EnvBindings {
		if len(b.Spec.Subjects) != 1 || b.Spec.Scope.Environment == "" || b.Spec.Scope.Agency != "" {
			t.Fatalf("environment binding %s: %+v", b.Name, b.Spec)
		}
		if envNS[b.Spec.Scope.Environment] != b.Namespace {
			t.Errorf("binding %s/%s: environment %s is in another namespace", b.Namespace, b.Name, b.Spec.Scope.Environment)
		}
		perEnv[b.Spec.Scope.Environment]++
		perUser[b.Spec.Subjects[0].Name]++
	}
	if len(o.EnvBindings) > 0 {
		lo, hi := len(o.EnvBindings), 0
		for _, e := range o.Envs {
			lo, hi = min(lo, perEnv[e.Name]), max(hi, perEnv[e.Name])
		}
		if hi-lo > 1 {
			t.Errorf("environment bindings spread unevenly: %d to %d per environment", lo, hi)
		}
	}
	covered := map[string]int{}
	for i, b := range o.AgencyBindings {
		if b.Spec.Scope.Agency == "" || agencyNS[b.Spec.Scope.Agency] != b.Namespace {
			t.Errorf("agency binding %s/%s: scope %+v", b.Namespace, b.Name, b.Spec.Scope)
		}
		if len(b.Spec.Roles) != 1 || b.Spec.Roles[0] != iamv1.RoleAnalyst {
			t.Errorf("agency binding %s: roles %v", b.Name, b.Spec.Roles)
		}
		if i > 0 && len(b.Spec.Subjects) > o.Shape.AgencySubjects {
			t.Errorf("agency binding %s: %d subjects", b.Name, len(b.Spec.Subjects))
		}
		for _, s := range b.Spec.Subjects {
			covered[s.Name]++
		}
	}
	for _, u := range o.Users {
		if covered[u.Name] != 1 {
			t.Errorf("user %s is named by %d agency bindings, want 1", u.Name, covered[u.Name])
		}
		if perUser[u.Name] != o.Shape.EnvBindingsPerUser {
			t.Errorf("user %s has %d environment bindings, want %d", u.Name, perUser[u.Name], o.Shape.EnvBindingsPerUser)
		}
		if u.Spec.Email != UserEmail(u.Name) || u.Spec.Invitation.Send != nil {
			t.Errorf("user %s: email %q, invitation %+v (want the default)", u.Name, u.Spec.Email, u.Spec.Invitation)
		}
	}
	if fb := o.FanoutBinding(); fb.Spec.Scope.Agency != FanoutAgency || len(fb.Spec.Subjects) != min(o.Shape.Users, o.Shape.FanoutSubjects) {
		t.Errorf("fan-out binding %s: agency %s, %d subjects", fb.Name, fb.Spec.Scope.Agency, len(fb.Spec.Subjects))
	}
}

func fmtType(obj any) string {
	switch obj.(type) {
	case *iamv1.Agency:
		return "Agency"
	case *iamv1.Environment:
		return "Environment"
	case *iamv1.StudioUser:
		return "StudioUser"
	case *iamv1.RoleBinding:
		return "RoleBinding"
	}
	return "?"
}

func TestNewOrgRejects(t *testing.T) {
	for _, s := range []OrgShape{
		{Users: 0, Agencies: 1, EnvsPerAgency: 1, AgencySubjects: 1, FanoutSubjects: 1},
		{Users: 1, Agencies: 0, EnvsPerAgency: 1, AgencySubjects: 1, FanoutSubjects: 1},
		{Users: 1, Agencies: 1, EnvsPerAgency: 1, AgencySubjects: 1001, FanoutSubjects: 1},
		{Users: 1, Agencies: 1, EnvsPerAgency: 1, AgencySubjects: 1, FanoutSubjects: 1001},
	} {
		if _, err := NewOrg(s); err == nil {
			t.Errorf("NewOrg(%+v) succeeded", s)
		}
	}
}
