package controllers

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// Finalizer holds an object whose deletion has work to do in the store until that
// work is done: a StudioUser with deletionPolicy Delete (the default: revoke and
// remove), an Agency or Environment with deletionPolicy Delete (delete the record).
// Objects whose deletion leaves the store as it is carry none, so creating them costs
// no extra write: an orphaned record stays, and a RoleBinding's grants are recomputed
// from the bindings that remain whenever one goes.
const Finalizer = "iam.studio-operator.io/finalizer"

// FieldManager is the operator's field manager on the objects it writes; provenance
// skips it when looking for the party that last changed an object.
const FieldManager = "studio-operator"

// patchStatus writes obj's status if it differs from what it was when the reconcile
// started; restoreOld puts that old status into a copy of obj. Comparing first means an
// idle reconcile makes no API call at all (the resourceVersion stays), and building
// the merge patch against obj's current metadata means the patch holds only status.
// A missing object (its finalizer was just removed) is not an error.
func patchStatus(ctx context.Context, c client.Client, obj client.Object, restoreOld func(base client.Object)) error {
	base := obj.DeepCopyObject().(client.Object)
	restoreOld(base)
	if equality.Semantic.DeepEqual(base, obj) {
		return nil
	}
	return client.IgnoreNotFound(c.Status().Patch(ctx, obj, client.MergeFrom(base)))
}

// syncFinalizer adds Finalizer when the object needs it and removes it when it does
// not (its deletionPolicy changed, or an earlier version set it), with a
// metadata-only patch; nothing is written when it is as it should be.
func syncFinalizer(ctx context.Context, c client.Client, obj client.Object, needed bool) error {
	if controllerutil.ContainsFinalizer(obj, Finalizer) == needed {
		return nil
	}
	if !needed {
		return releaseFinalizer(ctx, c, obj)
	}
	base := obj.DeepCopyObject().(client.Object)
	controllerutil.AddFinalizer(obj, Finalizer)
	return c.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// releaseFinalizer removes Finalizer, letting the API server delete the object.
func releaseFinalizer(ctx context.Context, c client.Client, obj client.Object) error {
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	base := obj.DeepCopyObject().(client.Object)
	controllerutil.RemoveFinalizer(obj, Finalizer)
	return client.IgnoreNotFound(c.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})))
}

// conflictRetry is how soon an object whose write hit a conflict (the cache was a
// step behind the API server) is looked at again.
const conflictRetry = 200 * time.Millisecond

// quietConflict turns a write conflict into a prompt requeue instead of an error: it
// only means the cache had not caught up yet, which is no failure worth logging or
// backing off for.
func quietConflict(res ctrl.Result, err error) (ctrl.Result, error) {
	if err != nil && apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	return res, err
}
