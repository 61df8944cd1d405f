package planner_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
)

var ignoreMessages = cmpopts.IgnoreFields(iamv1.SubjectStatus{}, "Message")

func TestEvaluateScope(t *testing.T) {
	cases := map[string]struct {
		binding iamv1.RoleBinding
		edit    func(*planner.Snapshot)
		want    planner.ScopeVerdict
	}{
		"environment scope": {
			binding: envBinding("team-a", "b", "prod", subjects("alice"), iamv1.RoleAnalyst),
			want:    planner.ScopeVerdict{Agency: "acme", Environment: types.NamespacedName{Namespace: "team-a", Name: "prod"}},
		},
		"environment missing": {
			binding: envBinding("team-a", "b", "nope", subjects("alice"), iamv1.RoleAnalyst),
			want:    planner.ScopeVerdict{Environment: types.NamespacedName{Namespace: "team-a", Name: "nope"}, Reason: iamv1.ReasonEnvironmentNotFound},
		},
		"environment in another namespace is not found": {
			binding: envBinding("team-b", "b", "prod", subjects("alice"), iamv1.RoleAnalyst),
			want:    planner.ScopeVerdict{Environment: types.NamespacedName{Namespace: "team-b", Name: "prod"}, Reason: iamv1.ReasonEnvironmentNotFound},
		},
		"environment being deleted": {
			binding: envBinding("team-a", "b", "prod", subjects("alice"), iamv1.RoleAnalyst),
			edit: func(s *planner.Snapshot) {
				k := types.NamespacedName{Namespace: "team-a", Name: "prod"}
				s.Environments[k] = deleting(s.Environments[k])
			},
			want: planner.ScopeVerdict{Environment: types.NamespacedName{Namespace: "team-a", Name: "prod"}, Reason: iamv1.ReasonEnvironmentNotFound},
		},
		"environment namespace not allowed by its agency": {
			binding: envBinding("team-b", "b", "web", subjects("alice"), iamv1.RoleAnalyst),
			want:    planner.ScopeVerdict{Environment: types.NamespacedName{Namespace: "team-b", Name: "web"}, Reason: iamv1.ReasonNamespaceNotAllowed},
		},
		"agency scope in the home namespace": {
			binding: agencyBinding("team-a", "b", "acme", subjects("alice"), iamv1.RoleAnalyst),
			want:    planner.ScopeVerdict{Agency: "acme"},
		},
		"agency scope outside the home namespace": {
			binding: agencyBinding("team-b", "b", "acme", subjects("alice"), iamv1.RoleAnalyst),
			want:    planner.ScopeVerdict{Reason: iamv1.ReasonScopeNotAllowed},
		},
		"agency missing": {
			binding: agencyBinding("team-a", "b", "initech", subjects("alice"), iamv1.RoleAnalyst),
			want:    planner.ScopeVerdict{Reason: iamv1.ReasonAgencyNotFound},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := world()
			if tc.edit != nil {
				tc.edit(&s)
			}
			got := planner.EvaluateScope(&tc.binding, s)
			if !got.Valid() && got.Message == "" {
				t.Error("an invalid scope must say why")
			}
			got.Message = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateSubject(t *testing.T) {
	cases := map[string]struct {
		binding     iamv1.RoleBinding
		subject     string
		want        iamv1.SubjectStatus
		contributes bool
		roles       []cascade.Role
	}{
		"user gets the roles": {
			binding:     envBinding("team-a", "b", "prod", subjects("alice"), iamv1.RoleAnalyst, iamv1.RoleDeveloper),
			subject:     "alice",
			want:        iamv1.SubjectStatus{Name: "alice", Applied: true},
			contributes: true,
			roles:       []cascade.Role{cascade.Analyst, cascade.Developer},
		},
		"missing user": {
			binding: envBinding("team-a", "b", "prod", subjects("zed"), iamv1.RoleAnalyst),
			subject: "zed",
			want:    iamv1.SubjectStatus{Name: "zed", Reason: iamv1.ReasonUserNotFound},
		},
		"invalid scope applies to nobody": {
			binding: agencyBinding("team-b", "b", "acme", subjects("alice"), iamv1.RoleAnalyst),
			subject: "alice",
			want:    iamv1.SubjectStatus{Name: "alice", Reason: iamv1.ReasonScopeNotAllowed},
		},
		"empty roles at environment scope is a block that applies": {
			binding:     envBinding("team-a", "b", "prod", subjects("alice")),
			subject:     "alice",
			want:        iamv1.SubjectStatus{Name: "alice", Applied: true},
			contributes: true,
			roles:       []cascade.Role{},
		},
		"agent keeps Agent and Operator only": {
			binding:     envBinding("team-a", "b", "prod", subjects("ann"), iamv1.RoleOperator, iamv1.RoleAnalyst),
			subject:     "ann",
			want:        iamv1.SubjectStatus{Name: "ann", Applied: true, Reason: iamv1.ReasonRolesNotAllowedForAgent},
			contributes: true,
			roles:       []cascade.Role{cascade.Operator},
		},
		"agent with no agent role at environment scope still blocks": {
			binding:     envBinding("team-a", "b", "prod", subjects("ann"), iamv1.RoleAnalyst),
			subject:     "ann",
			want:        iamv1.SubjectStatus{Name: "ann", Reason: iamv1.ReasonRolesNotAllowedForAgent},
			contributes: true,
			roles:       []cascade.Role{},
		},
		"agent with no agent role at agency scope gets nothing": {
			binding: agencyBinding("team-a", "b", "acme", subjects("ann"), iamv1.RoleAnalyst),
			subject: "ann",
			want:    iamv1.SubjectStatus{Name: "ann", Reason: iamv1.ReasonRolesNotAllowedForAgent},
			roles:   []cascade.Role{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := world()
			scope := planner.EvaluateScope(&tc.binding, s)
			got := planner.EvaluateSubject(&tc.binding, scope, tc.subject, s)
			if diff := cmp.Diff(tc.want, got.Status, ignoreMessages); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if (got.Status.Reason == "") != (got.Status.Message == "") {
				t.Errorf("reason %q and message %q must come together", got.Status.Reason, got.Status.Message)
			}
			if got.Contributes != tc.contributes {
				t.Errorf("contributes = %v, want %v", got.Contributes, tc.contributes)
			}
			if tc.contributes {
				if diff := cmp.Diff(tc.roles, got.Roles); diff != "" {
					t.Errorf("roles (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestEvaluateBindingProblem(t *testing.T) {
	cases := map[string]struct {
		binding      iamv1.RoleBinding
		wantReason   string
		wantContains string
	}{
		"applies to everyone": {
			binding: envBinding("team-a", "b", "prod", subjects("bob", "alice"), iamv1.RoleAnalyst),
		},
		"scope problem wins": {
			binding:      agencyBinding("team-a", "b", "initech", subjects("zed"), iamv1.RoleAnalyst),
			wantReason:   iamv1.ReasonAgencyNotFound,
			wantContains: `"initech"`,
		},
		"first subject problem by name, the rest counted": {
			binding:      envBinding("team-a", "b", "prod", subjects("zed", "ann", "alice", "yan"), iamv1.RoleAnalyst),
			wantReason:   iamv1.ReasonRolesNotAllowedForAgent,
			wantContains: "and 2 more subjects",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := planner.EvaluateBinding(&tc.binding, world())
			reason, msg := v.Problem()
			if reason != tc.wantReason || !strings.Contains(msg, tc.wantContains) {
				t.Errorf("Problem() = %q, %q; want %q containing %q", reason, msg, tc.wantReason, tc.wantContains)
			}
			for i := 1; i < len(v.Subjects); i++ {
				if v.Subjects[i-1].Name > v.Subjects[i].Name {
					t.Errorf("subjects not sorted: %v", v.Subjects)
				}
			}
		})
	}
}
