package controllers

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

// outcomeKind is how a reconcile ended, which decides conditions and requeue.
type outcomeKind int

const (
	// outcomeContinue: the step is done, run the next one.
	outcomeContinue outcomeKind = iota
	// outcomeReady: everything is reconciled; requeue at the resync period.
	outcomeReady
	// outcomeStalled: cannot progress without a change to this or another object;
	// requeue only on change (watches) or at the resync period, never hot.
	outcomeStalled
	// outcomeWaiting: another object must catch up first (a record the store does not
	// have yet, dependents being deleted); requeue after a short wait.
	outcomeWaiting
	// outcomeFailed: a transient failure (store unavailable, API server error); return
	// the error so the work queue retries with backoff.
	outcomeFailed
	// outcomeGone: the object's finalizer was released; there is nothing left to
	// report on or to requeue.
	outcomeGone
)

// outcome is the verdict of a reconcile step.
type outcome struct {
	kind    outcomeKind
	reason  string
	message string
	err     error
}

var (
	proceed = outcome{kind: outcomeContinue}
	gone    = outcome{kind: outcomeGone}
)

func ready(reason, message string) outcome {
	return outcome{kind: outcomeReady, reason: reason, message: message}
}

func stalled(reason, message string) outcome {
	return outcome{kind: outcomeStalled, reason: reason, message: message}
}

func waiting(reason, message string) outcome {
	return outcome{kind: outcomeWaiting, reason: reason, message: message}
}

// failed is a transient failure: Ready=False with reason, and err goes back to the
// work queue for a retry with backoff.
func failed(reason string, err error) outcome {
	return outcome{kind: outcomeFailed, reason: reason, message: safeMessage(err), err: err}
}

// msgStoreUnavailable is the condition message while the store cannot be reached.
const msgStoreUnavailable = "the Studio user store is unavailable; retrying"

// kubeFailed wraps an API server error (cache read, Secret write) as a transient
// failure: the operator is still working on the object (Progressing) and retries.
func kubeFailed(err error) outcome { return failed(iamv1.ReasonKubernetesAPIError, err) }

// fromStoreError maps a store error to an outcome, the one place where error types
// decide requeue: transient → retry with backoff; conflicts and invalid requests →
// Stalled with the store's message; an unknown reference → wait for the referenced
// record (unknownRefReason says which kind of record that is).
func fromStoreError(err error, unknownRefReason string) outcome {
	var se *store.Error
	if !errors.As(err, &se) || store.IsTransient(err) {
		return outcome{kind: outcomeFailed, reason: iamv1.ReasonStoreUnavailable, message: msgStoreUnavailable, err: err}
	}
	msg := se.Message
	if se.Field != "" {
		msg = se.Field + ": " + msg
	}
	switch se.Code {
	case store.CodeEmailInUse:
		return stalled(iamv1.ReasonEmailInUse, msg)
	case store.CodeManagedByOther:
		return stalled(iamv1.ReasonManagedByOther, msg)
	case store.CodeHasDependents:
		return stalled(iamv1.ReasonDependentsExist, msg)
	case store.CodeUnknownReference:
		// A condition needs a reason: a call with no record to wait for says it is
		// still progressing.
		return waiting(cmp.Or(unknownRefReason, iamv1.ReasonProgressing), msg)
	default:
		return stalled(iamv1.ReasonStoreRejected, msg)
	}
}

// safeMessage is an error's text for a condition, kept short.
func safeMessage(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	return msg
}

// apply writes the outcome into the object's conditions. observedGeneration is
// stamped when the reconcile reached a verdict on this generation — Ready, or Stalled
// (a final answer until something changes, which kstatus reports as Failed only when
// the generation is observed) — and not while waiting or failing.
func (o outcome) apply(st *iamv1.CommonStatus, generation int64) {
	set := func(typ string, status metav1.ConditionStatus) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: typ, Status: status, Reason: o.reason, Message: o.message, ObservedGeneration: generation,
		})
	}
	switch o.kind {
	case outcomeReady:
		set(iamv1.ConditionReady, metav1.ConditionTrue)
		meta.RemoveStatusCondition(&st.Conditions, iamv1.ConditionReconciling)
		meta.RemoveStatusCondition(&st.Conditions, iamv1.ConditionStalled)
		st.ObservedGeneration = generation
	case outcomeStalled:
		set(iamv1.ConditionReady, metav1.ConditionFalse)
		set(iamv1.ConditionStalled, metav1.ConditionTrue)
		meta.RemoveStatusCondition(&st.Conditions, iamv1.ConditionReconciling)
		st.ObservedGeneration = generation
	case outcomeWaiting, outcomeFailed:
		set(iamv1.ConditionReady, metav1.ConditionFalse)
		set(iamv1.ConditionReconciling, metav1.ConditionTrue)
		meta.RemoveStatusCondition(&st.Conditions, iamv1.ConditionStalled)
	}
}

// result is what Reconcile returns for the outcome.
func (o outcome) result(t timing) (ctrl.Result, error) {
	switch o.kind {
	case outcomeGone:
		return ctrl.Result{}, nil
	case outcomeFailed:
		return ctrl.Result{}, o.err
	case outcomeWaiting:
		return ctrl.Result{RequeueAfter: t.wait}, nil
	default:
		return ctrl.Result{RequeueAfter: t.resyncJittered()}, nil
	}
}

// stalledFresh reports whether o stalls an object that was not already stalled for the
// same reason, which is when it deserves an event.
func (o outcome) stalledFresh(before []metav1.Condition) bool {
	if o.kind != outcomeStalled {
		return false
	}
	c := meta.FindStatusCondition(before, iamv1.ConditionStalled)
	return c == nil || c.Status != metav1.ConditionTrue || c.Reason != o.reason
}

// timing is the requeue policy.
type timing struct {
	resync time.Duration
	wait   time.Duration
}

// resyncJittered spreads resyncs by up to a tenth of the period so that objects
// created together do not all hit the store at the same moment forever after.
func (t timing) resyncJittered() time.Duration {
	if t.resync <= 0 {
		return 0
	}
	return t.resync + time.Duration(rand.Int64N(int64(t.resync)/10+1))
}

// plural returns "1 environment" / "2 environments".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(noun, "s"))
}

// setTrueCondition sets condition typ True with reason and message, and reports
// whether it was not True before (a change that deserves an event). Conditions besides
// the kstatus three (Planned, RevocationHeld, InvitationExpired, …) go through it and
// are removed, when they no longer hold, with meta.RemoveStatusCondition.
func setTrueCondition(conds *[]metav1.Condition, generation int64, typ, reason, message string) bool {
	before := meta.FindStatusCondition(*conds, typ)
	appeared := before == nil || before.Status != metav1.ConditionTrue
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: message, ObservedGeneration: generation,
	})
	return appeared
}
