package planner_test

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
)

// The test organisation:
//   - acme (home team-a, environments only at home): team-a/prod, team-a/dev, and
//     team-b/web which acme does not allow;
//   - globex (home globex, all namespaces): globex/bot, team-b/chat;
//   - labelled (home lab, selector tier=studio): lab/home-bot, team-c/sel (team-c has
//     the label), team-b/nolabel (team-b lacks it).
func world() planner.Snapshot {
	s := planner.Snapshot{
		Agencies: map[string]*iamv1.Agency{
			"acme":   agency("acme", "team-a", nil),
			"globex": agency("globex", "globex", &iamv1.EnvironmentNamespaces{From: iamv1.NamespacesAll}),
			"labelled": agency("labelled", "lab", &iamv1.EnvironmentNamespaces{
				From:     iamv1.NamespacesSelector,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "studio"}},
			}),
		},
		Environments: map[types.NamespacedName]*iamv1.Environment{},
		Users: map[string]*iamv1.StudioUser{
			"alice": user("alice", iamv1.UserTypeUser),
			"bob":   user("bob", iamv1.UserTypeUser),
			"ann":   user("ann", iamv1.UserTypeAgent),
		},
		NamespaceLabels: map[string]map[string]string{
			"team-a": {}, "team-b": {}, "team-c": {"tier": "studio"}, "globex": {}, "lab": {},
		},
	}
	for _, e := range []*iamv1.Environment{
		environment("team-a", "prod", "acme"),
		environment("team-a", "dev", "acme"),
		environment("team-b", "web", "acme"),
		environment("globex", "bot", "globex"),
		environment("team-b", "chat", "globex"),
		environment("lab", "home-bot", "labelled"),
		environment("team-c", "sel", "labelled"),
		environment("team-b", "nolabel", "labelled"),
	} {
		s.Environments[types.NamespacedName{Namespace: e.Namespace, Name: e.Name}] = e
	}
	return s
}

func agency(name, home string, en *iamv1.EnvironmentNamespaces) *iamv1.Agency {
	return &iamv1.Agency{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       iamv1.AgencySpec{HomeNamespace: home, EnvironmentNamespaces: en},
	}
}

func environment(ns, name, agency string) *iamv1.Environment {
	return &iamv1.Environment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: agency}},
	}
}

func user(name string, t iamv1.UserType) *iamv1.StudioUser {
	return &iamv1.StudioUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec:       iamv1.StudioUserSpec{Email: name + "@example.com", Type: t},
	}
}

func envBinding(ns, name, env string, subjects []string, roles ...iamv1.Role) iamv1.RoleBinding {
	b := binding(ns, name, subjects, roles)
	b.Spec.Scope.Environment = env
	return b
}

func agencyBinding(ns, name, agency string, subjects []string, roles ...iamv1.Role) iamv1.RoleBinding {
	b := binding(ns, name, subjects, roles)
	b.Spec.Scope.Agency = agency
	return b
}

func binding(ns, name string, subjects []string, roles []iamv1.Role) iamv1.RoleBinding {
	b := iamv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       iamv1.RoleBindingSpec{Roles: roles},
	}
	if b.Spec.Roles == nil {
		b.Spec.Roles = []iamv1.Role{}
	}
	for _, s := range subjects {
		b.Spec.Subjects = append(b.Spec.Subjects, iamv1.Subject{Name: s})
	}
	return b
}

func deleting[T metav1.Object](o T) T {
	now := metav1.Now()
	o.SetDeletionTimestamp(&now)
	return o
}

func subjects(names ...string) []string { return names }
