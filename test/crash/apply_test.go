package crash

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// applyTimeout bounds one step's requests to the API server.
const applyTimeout = 30 * time.Second

// createAgencies creates the workload's agencies, their home namespaces and their
// Environments. The guard is off (maxPercent 100): the run's deletions are not a
// mass revocation, and the scenarios test the guard on their own.
func createAgencies(ctx context.Context, c client.Client) error {
	for _, a := range workloadAgencies {
		if err := createIgnoringExisting(ctx, c, namespaceObj(a)); err != nil {
			return err
		}
		ag := &iamv1.Agency{
			ObjectMeta: metav1.ObjectMeta{Name: a},
			Spec: iamv1.AgencySpec{DisplayName: "Agency " + a, HomeNamespace: a,
				RevocationGuard: &iamv1.RevocationGuard{MaxPercent: ptr.To[int32](100)}},
		}
		if err := createIgnoringExisting(ctx, c, ag); err != nil {
			return err
		}
		for _, e := range workloadEnvironments {
			env := &iamv1.Environment{
				ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: e},
				Spec:       iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: a}, DisplayName: "Bot " + e},
			}
			if err := createIgnoringExisting(ctx, c, env); err != nil {
				return err
			}
		}
	}
	return nil
}

func createIgnoringExisting(ctx context.Context, c client.Client, obj client.Object) error {
	if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

// studioUser is a workload user's manifest.
func studioUser(name string) *iamv1.StudioUser {
	return &iamv1.StudioUser{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       iamv1.StudioUserSpec{Email: userEmail(name), DisplayName: "User " + name},
	}
}

// roleBinding is a binding's manifest.
func roleBinding(ns, name, scope string, envScope bool, subjects []string, roles []iamv1.Role) *iamv1.RoleBinding {
	b := &iamv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       iamv1.RoleBindingSpec{Roles: append([]iamv1.Role{}, roles...)},
	}
	if envScope {
		b.Spec.Scope.Environment = scope
	} else {
		b.Spec.Scope.Agency = scope
	}
	for _, s := range subjects {
		b.Spec.Subjects = append(b.Spec.Subjects, iamv1.Subject{Name: s})
	}
	return b
}

// apply makes one step's change in the cluster. Spec edits are JSON merge patches,
// which replace the lists they name and need no resourceVersion, so the operator's
// status and finalizer writes never make them conflict.
func (s step) apply(ctx context.Context, c client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	switch s.kind {
	case opCreateUser:
		return c.Create(ctx, studioUser(s.user))
	case opCreateBinding:
		return c.Create(ctx, roleBinding(s.ns, s.binding, s.scope, s.envScope, s.subjects, s.roles))
	case opSetRoles:
		return mergePatch(ctx, c, &iamv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: s.binding}},
			map[string]any{"spec": map[string]any{"roles": s.roles}})
	case opSetSubjects:
		subjects := make([]map[string]string, len(s.subjects))
		for i, n := range s.subjects {
			subjects[i] = map[string]string{"name": n}
		}
		return mergePatch(ctx, c, &iamv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: s.binding}},
			map[string]any{"spec": map[string]any{"subjects": subjects}})
	case opDeleteBinding:
		return client.IgnoreNotFound(c.Delete(ctx, &iamv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: s.binding}}))
	case opResend:
		return mergePatch(ctx, c, &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: s.user}},
			map[string]any{"spec": map[string]any{"invitation": map[string]any{"resend": s.resend}}})
	case opSuspend:
		return mergePatch(ctx, c, &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: s.user}},
			map[string]any{"spec": map[string]any{"suspended": s.suspend}})
	case opDeleteUser:
		return client.IgnoreNotFound(c.Delete(ctx, &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: s.user}}))
	}
	return fmt.Errorf("step %v is not applied to the cluster", s.kind)
}

func mergePatch(ctx context.Context, c client.Client, obj client.Object, patch map[string]any) error {
	raw, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return c.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", raw))
}

func namespaceObj(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
