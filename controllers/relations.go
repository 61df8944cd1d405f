package controllers

import (
	"cmp"
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// relations finds the objects that depend on an object, through the field indexes.
// The map functions of the watches are built on it, so that a change re-queues
// exactly the objects whose outcome it can change.
//
// What it returns are the cache's own objects, not copies (readOnly): every caller
// only reads them, to plan or to map, and a RoleBinding of 1,000 subjects would
// otherwise be deep-copied once for each of its users on every plan. Nothing may
// modify them.
type relations struct {
	c client.Reader
}

// readOnly lists without copying (see relations).
var readOnly = client.UnsafeDisableDeepCopy

func (r relations) bindingsNaming(ctx context.Context, user string) ([]iamv1.RoleBinding, error) {
	var l iamv1.RoleBindingList
	err := r.c.List(ctx, &l, readOnly, client.MatchingFields{indexBindingSubject: user})
	return l.Items, err
}

func (r relations) bindingsOnEnvironment(ctx context.Context, env types.NamespacedName) ([]iamv1.RoleBinding, error) {
	var l iamv1.RoleBindingList
	err := r.c.List(ctx, &l, readOnly, client.InNamespace(env.Namespace),
		client.MatchingFields{indexBindingEnvironment: env.Namespace + "/" + env.Name})
	return l.Items, err
}

func (r relations) bindingsOnAgency(ctx context.Context, agency string) ([]iamv1.RoleBinding, error) {
	var l iamv1.RoleBindingList
	err := r.c.List(ctx, &l, readOnly, client.MatchingFields{indexBindingAgency: agency})
	return l.Items, err
}

func (r relations) environmentsOf(ctx context.Context, agency string) ([]iamv1.Environment, error) {
	var l iamv1.EnvironmentList
	err := r.c.List(ctx, &l, readOnly, client.MatchingFields{indexEnvironmentAgency: agency})
	return l.Items, err
}

// agenciesWithHome: the Agencies whose homeNamespace is namespace.
func (r relations) agenciesWithHome(ctx context.Context, namespace string) ([]iamv1.Agency, error) {
	var l iamv1.AgencyList
	err := r.c.List(ctx, &l, readOnly, client.MatchingFields{indexAgencyHome: namespace})
	return l.Items, err
}

func (r relations) environmentsIn(ctx context.Context, namespace string) ([]iamv1.Environment, error) {
	var l iamv1.EnvironmentList
	err := r.c.List(ctx, &l, readOnly, client.InNamespace(namespace))
	return l.Items, err
}

// bindingsAffectedByEnvironment: the bindings whose validity env decides — those on
// env, and the agency-scoped ones of its agency (which ripple down to it).
func (r relations) bindingsAffectedByEnvironment(ctx context.Context, env *iamv1.Environment) ([]iamv1.RoleBinding, error) {
	onEnv, err := r.bindingsOnEnvironment(ctx, client.ObjectKeyFromObject(env))
	if err != nil {
		return nil, err
	}
	onAgency, err := r.bindingsOnAgency(ctx, env.Spec.AgencyRef.Name)
	return append(onEnv, onAgency...), err
}

// bindingsAffectedByAgency: the agency's own bindings and those on its environments.
func (r relations) bindingsAffectedByAgency(ctx context.Context, agency string) ([]iamv1.RoleBinding, error) {
	out, err := r.bindingsOnAgency(ctx, agency)
	if err != nil {
		return nil, err
	}
	envs, err := r.environmentsOf(ctx, agency)
	if err != nil {
		return nil, err
	}
	for i := range envs {
		onEnv, err := r.bindingsOnEnvironment(ctx, client.ObjectKeyFromObject(&envs[i]))
		if err != nil {
			return nil, err
		}
		out = append(out, onEnv...)
	}
	return out, nil
}

// requestSet collects reconcile requests without duplicates, in a stable order.
type requestSet map[types.NamespacedName]struct{}

func (s requestSet) add(key types.NamespacedName) { s[key] = struct{}{} }

func (s requestSet) addSubjects(bindings []iamv1.RoleBinding) {
	for _, b := range bindings {
		for _, sub := range b.Spec.Subjects {
			s.add(types.NamespacedName{Name: sub.Name})
		}
	}
}

func (s requestSet) addObjects(objs ...client.Object) {
	for _, o := range objs {
		s.add(client.ObjectKeyFromObject(o))
	}
}

func (s requestSet) requests() []reconcile.Request {
	out := make([]reconcile.Request, 0, len(s))
	for k := range s {
		out = append(out, reconcile.Request{NamespacedName: k})
	}
	slices.SortFunc(out, func(a, b reconcile.Request) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// logMapError notes a cache read that failed inside a map function; the informer
// resyncs and the resync period catch up, so the event is not lost for good.
func logMapError(ctx context.Context, err error, what string) {
	if err != nil {
		log.FromContext(ctx).Error(err, "cannot find dependent objects", "for", what)
	}
}
