package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// UserRequestsFor runs the StudioUser controller's map function for obj (a
// RoleBinding, Environment, Agency or Namespace) against c, which must be a manager's
// client (it needs the field indexes).
func UserRequestsFor(ctx context.Context, c client.Reader, obj client.Object) []reconcile.Request {
	r := &StudioUserReconciler{reconciler: reconciler{rel: relations{c: c}}}
	switch o := obj.(type) {
	case *iamv1.RoleBinding:
		return r.usersOfBinding(ctx, o)
	case *iamv1.Environment:
		return r.usersOfEnvironment(ctx, o)
	case *iamv1.Agency:
		return r.usersOfAgency(ctx, o)
	default:
		return r.usersOfNamespace(ctx, o)
	}
}
