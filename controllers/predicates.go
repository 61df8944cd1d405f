package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
)

// specOrLifecycle passes creations, deletions, spec changes (generation) and the
// start of a deletion; it drops the status writes the operator makes itself, which
// would otherwise trigger a reconcile each.
var specOrLifecycle = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return specOrDeletionChanged(e.ObjectOld, e.ObjectNew)
}}

func specOrDeletionChanged(old, cur client.Object) bool {
	return old.GetGeneration() != cur.GetGeneration() ||
		old.GetDeletionTimestamp().IsZero() != cur.GetDeletionTimestamp().IsZero()
}

// specOrReadiness also passes a change of the Ready condition's status: when an
// Agency or Environment becomes Ready its record exists in the store, so objects that
// wait for it can proceed.
var specOrReadiness = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return specOrDeletionChanged(e.ObjectOld, e.ObjectNew) || readyStatus(e.ObjectOld) != readyStatus(e.ObjectNew)
}}

// readyStatus is the status of obj's Ready condition ("" when absent or unknown kind).
func readyStatus(obj client.Object) metav1.ConditionStatus {
	var conds []metav1.Condition
	switch o := obj.(type) {
	case *iamv1.Agency:
		conds = o.Status.Conditions
	case *iamv1.Environment:
		conds = o.Status.Conditions
	default:
		return ""
	}
	if c := meta.FindStatusCondition(conds, iamv1.ConditionReady); c != nil {
		return c.Status
	}
	return ""
}

// specLifecycleOrRecord also passes a StudioUser that starts or stops being Stalled
// without a record in the Studio (planner.UnrecordedUserReason): the bindings naming
// it say per subject whether the Studio holds their roles.
var specLifecycleOrRecord = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	if specOrDeletionChanged(e.ObjectOld, e.ObjectNew) {
		return true
	}
	o, okOld := e.ObjectOld.(*iamv1.StudioUser)
	n, okNew := e.ObjectNew.(*iamv1.StudioUser)
	return okOld && okNew && planner.UnrecordedUserReason(o) != planner.UnrecordedUserReason(n)
}}

// specLifecycleOrApproval also passes a change of an Agency's approve-revocations
// annotation.
var specLifecycleOrApproval = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return specOrDeletionChanged(e.ObjectOld, e.ObjectNew) ||
		e.ObjectOld.GetAnnotations()[iamv1.AnnotationApproveRevocations] != e.ObjectNew.GetAnnotations()[iamv1.AnnotationApproveRevocations]
}}
