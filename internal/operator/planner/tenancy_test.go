package planner_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
)

func TestNamespaceAllowed(t *testing.T) {
	selector := func(sel *metav1.LabelSelector) *iamv1.Agency {
		return agency("a", "home", &iamv1.EnvironmentNamespaces{From: iamv1.NamespacesSelector, Selector: sel})
	}
	tierStudio := &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "studio"}}
	cases := map[string]struct {
		agency  *iamv1.Agency
		ns      string
		labels  map[string]string
		exists  bool
		allowed bool
	}{
		"unset means Same: home":             {agency: agency("a", "home", nil), ns: "home", exists: true, allowed: true},
		"unset means Same: elsewhere":        {agency: agency("a", "home", nil), ns: "other", exists: true},
		"Same: elsewhere":                    {agency: agency("a", "home", &iamv1.EnvironmentNamespaces{From: iamv1.NamespacesSame}), ns: "other", exists: true},
		"All: anywhere":                      {agency: agency("a", "home", &iamv1.EnvironmentNamespaces{From: iamv1.NamespacesAll}), ns: "other", exists: true, allowed: true},
		"Selector: matching namespace":       {agency: selector(tierStudio), ns: "other", labels: map[string]string{"tier": "studio"}, exists: true, allowed: true},
		"Selector: other labels":             {agency: selector(tierStudio), ns: "other", labels: map[string]string{"tier": "web"}, exists: true},
		"Selector: namespace missing":        {agency: selector(tierStudio), ns: "other"},
		"Selector: home always allowed":      {agency: selector(tierStudio), ns: "home", allowed: true},
		"Selector: empty selector matches":   {agency: selector(&metav1.LabelSelector{}), ns: "other", exists: true, allowed: true},
		"Selector: invalid selector refuses": {agency: selector(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Bogus"}}}), ns: "other", exists: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			allowed, why := planner.NamespaceAllowed(tc.agency, tc.ns, tc.labels, tc.exists)
			if allowed != tc.allowed {
				t.Fatalf("allowed = %v (%s), want %v", allowed, why, tc.allowed)
			}
			if !allowed && why == "" {
				t.Error("a refusal must say why")
			}
		})
	}
}

func TestResolveEnvironment(t *testing.T) {
	cases := map[string]struct {
		env  types.NamespacedName
		edit func(*planner.Snapshot)
		want planner.EnvironmentResolution
	}{
		"home namespace": {
			env:  types.NamespacedName{Namespace: "team-a", Name: "prod"},
			want: planner.EnvironmentResolution{Agency: "acme"},
		},
		"namespace not allowed by Same": {
			env:  types.NamespacedName{Namespace: "team-b", Name: "web"},
			want: planner.EnvironmentResolution{Reason: iamv1.ReasonNamespaceNotAllowed},
		},
		"All": {
			env:  types.NamespacedName{Namespace: "team-b", Name: "chat"},
			want: planner.EnvironmentResolution{Agency: "globex"},
		},
		"Selector matches": {
			env:  types.NamespacedName{Namespace: "team-c", Name: "sel"},
			want: planner.EnvironmentResolution{Agency: "labelled"},
		},
		"Selector does not match": {
			env:  types.NamespacedName{Namespace: "team-b", Name: "nolabel"},
			want: planner.EnvironmentResolution{Reason: iamv1.ReasonNamespaceNotAllowed},
		},
		"agency missing": {
			env:  types.NamespacedName{Namespace: "team-a", Name: "prod"},
			edit: func(s *planner.Snapshot) { delete(s.Agencies, "acme") },
			want: planner.EnvironmentResolution{Reason: iamv1.ReasonAgencyNotFound},
		},
		"agency being deleted": {
			env:  types.NamespacedName{Namespace: "team-a", Name: "prod"},
			edit: func(s *planner.Snapshot) { s.Agencies["acme"] = deleting(s.Agencies["acme"]) },
			want: planner.EnvironmentResolution{Reason: iamv1.ReasonAgencyNotFound},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := world()
			if tc.edit != nil {
				tc.edit(&s)
			}
			got := planner.ResolveEnvironment(s.Environments[tc.env], s)
			if got.Valid() == (got.Message != "") {
				t.Errorf("message %q does not fit validity %v", got.Message, got.Valid())
			}
			got.Message = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resolution (-want +got):\n%s", diff)
			}
		})
	}
}
