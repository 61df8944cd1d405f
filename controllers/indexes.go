package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// Field indexes on the manager's cache. They let a change to one object find exactly
// the objects that depend on it without listing everything.
const (
	// indexBindingSubject: RoleBindings by subject (StudioUser) name.
	indexBindingSubject = "spec.subjects.name"
	// indexBindingEnvironment: environment-scoped RoleBindings by "<ns>/<name>" of
	// their Environment.
	indexBindingEnvironment = "spec.scope.environment"
	// indexBindingAgency: agency-scoped RoleBindings by Agency name.
	indexBindingAgency = "spec.scope.agency"
	// indexEnvironmentAgency: Environments by Agency name.
	indexEnvironmentAgency = "spec.agencyRef.name"
	// indexAgencyHome: Agencies by homeNamespace.
	indexAgencyHome = "spec.homeNamespace"
)

// setupIndexes registers the field indexes; once per manager.
func setupIndexes(ctx context.Context, mgr manager.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &iamv1.RoleBinding{}, indexBindingSubject, func(o client.Object) []string {
		b := o.(*iamv1.RoleBinding)
		names := make([]string, 0, len(b.Spec.Subjects))
		for _, s := range b.Spec.Subjects {
			names = append(names, s.Name)
		}
		return names
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &iamv1.RoleBinding{}, indexBindingEnvironment, func(o client.Object) []string {
		b := o.(*iamv1.RoleBinding)
		if b.Spec.Scope.Environment == "" {
			return nil
		}
		return []string{b.Namespace + "/" + b.Spec.Scope.Environment}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &iamv1.RoleBinding{}, indexBindingAgency, func(o client.Object) []string {
		b := o.(*iamv1.RoleBinding)
		if b.Spec.Scope.Agency == "" {
			return nil
		}
		return []string{b.Spec.Scope.Agency}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &iamv1.Agency{}, indexAgencyHome, func(o client.Object) []string {
		return []string{o.(*iamv1.Agency).Spec.HomeNamespace}
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &iamv1.Environment{}, indexEnvironmentAgency, func(o client.Object) []string {
		return []string{o.(*iamv1.Environment).Spec.AgencyRef.Name}
	})
}
