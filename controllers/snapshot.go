package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
)

// snapshotLoader reads, from the cache, the objects a planner decision needs, each at
// most once.
type snapshotLoader struct {
	c    client.Reader
	rel  relations
	s    planner.Snapshot
	seen map[string]bool
}

func newSnapshotLoader(c client.Reader) *snapshotLoader {
	return &snapshotLoader{
		c:   c,
		rel: relations{c: c},
		s: planner.Snapshot{
			Agencies:        map[string]*iamv1.Agency{},
			Environments:    map[types.NamespacedName]*iamv1.Environment{},
			Users:           map[string]*iamv1.StudioUser{},
			NamespaceLabels: map[string]map[string]string{},
		},
		seen: map[string]bool{},
	}
}

// first reports whether key is asked for the first time.
func (l *snapshotLoader) first(key string) bool {
	if l.seen[key] {
		return false
	}
	l.seen[key] = true
	return true
}

// get reads obj; a missing object is not an error (found is false).
func (l *snapshotLoader) get(ctx context.Context, key types.NamespacedName, obj client.Object) (found bool, err error) {
	if err := l.c.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (l *snapshotLoader) agency(ctx context.Context, name string) error {
	if !l.first("agency/" + name) {
		return nil
	}
	a := &iamv1.Agency{}
	found, err := l.get(ctx, types.NamespacedName{Name: name}, a)
	if !found || err != nil {
		return err
	}
	l.s.Agencies[name] = a
	// Every agency naming the same homeNamespace: which of them holds it decides
	// whether this one grants anything (planner.HomeNamespaceHolder).
	claimants, err := l.rel.agenciesWithHome(ctx, a.Spec.HomeNamespace)
	for i := range claimants {
		c := &claimants[i]
		if l.first("agency/" + c.Name) {
			l.s.Agencies[c.Name] = c
		}
	}
	return err
}

func (l *snapshotLoader) namespace(ctx context.Context, name string) error {
	if !l.first("namespace/" + name) {
		return nil
	}
	ns := &corev1.Namespace{}
	found, err := l.get(ctx, types.NamespacedName{Name: name}, ns)
	if found {
		labels := ns.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		l.s.NamespaceLabels[name] = labels
	}
	return err
}

func (l *snapshotLoader) user(ctx context.Context, name string) error {
	if !l.first("user/" + name) {
		return nil
	}
	u := &iamv1.StudioUser{}
	found, err := l.get(ctx, types.NamespacedName{Name: name}, u)
	if found {
		l.s.Users[name] = u
	}
	return err
}

// addEnvironment puts an Environment already read into the snapshot, with what its
// validity depends on: its agency and its namespace.
func (l *snapshotLoader) addEnvironment(ctx context.Context, env *iamv1.Environment) error {
	key := client.ObjectKeyFromObject(env)
	l.seen["environment/"+key.String()] = true
	l.s.Environments[key] = env
	if err := l.agency(ctx, env.Spec.AgencyRef.Name); err != nil {
		return err
	}
	return l.namespace(ctx, env.Namespace)
}

func (l *snapshotLoader) environment(ctx context.Context, key types.NamespacedName) error {
	if !l.first("environment/" + key.String()) {
		return nil
	}
	env := &iamv1.Environment{}
	found, err := l.get(ctx, key, env)
	if err != nil || !found {
		return err
	}
	return l.addEnvironment(ctx, env)
}

// agencyWithEnvironments loads an agency and all of its Environments, which its
// agency-scoped roles ripple down to.
func (l *snapshotLoader) agencyWithEnvironments(ctx context.Context, name string) error {
	if err := l.agency(ctx, name); err != nil {
		return err
	}
	if !l.first("agency-environments/" + name) {
		return nil
	}
	envs, err := l.rel.environmentsOf(ctx, name)
	if err != nil {
		return err
	}
	for i := range envs {
		if err := l.addEnvironment(ctx, &envs[i]); err != nil {
			return err
		}
	}
	return nil
}

// bindingScope loads what b's scope resolves against.
func (l *snapshotLoader) bindingScope(ctx context.Context, b *iamv1.RoleBinding) error {
	if env := b.Spec.Scope.Environment; env != "" {
		return l.environment(ctx, types.NamespacedName{Namespace: b.Namespace, Name: env})
	}
	return l.agency(ctx, b.Spec.Scope.Agency)
}
