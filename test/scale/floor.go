package scale

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// floorWorkers is the number of concurrent reconciles per kind of the floor.
const floorWorkers = 16

// floorMessage is the Ready message the floor writes.
const floorMessage = "floor controller: marked ready without doing any work"

// The floor is the least any controller must do to converge the organisation: one
// status write per object, from a cache, with nothing limiting its client. The
// manager's convergence time is reported against it, so that what the API server
// and this machine cost is separated from what the operator adds.

// studioKinds are the four Studio kinds, with a constructor each.
var studioKinds = []struct {
	name string
	obj  func() client.Object
}{
	{"agency", func() client.Object { return &iamv1.Agency{} }},
	{"environment", func() client.Object { return &iamv1.Environment{} }},
	{"studiouser", func() client.Object { return &iamv1.StudioUser{} }},
	{"rolebinding", func() client.Object { return &iamv1.RoleBinding{} }},
}

// commonStatus returns the CommonStatus of a Studio object (nil for other types).
func commonStatus(obj client.Object) *iamv1.CommonStatus {
	switch o := obj.(type) {
	case *iamv1.Agency:
		return &o.Status.CommonStatus
	case *iamv1.Environment:
		return &o.Status.CommonStatus
	case *iamv1.StudioUser:
		return &o.Status.CommonStatus
	case *iamv1.RoleBinding:
		return &o.Status.CommonStatus
	}
	return nil
}

// readyAtGeneration is the convergence test: Ready=True and the status describes the
// object's current generation (status.observedGeneration and, when set, the
// condition's own observedGeneration). reason says why not.
func readyAtGeneration(obj client.Object) (ok bool, reason string) {
	st := commonStatus(obj)
	if st == nil {
		return false, "not a Studio kind"
	}
	gen := obj.GetGeneration()
	c := meta.FindStatusCondition(st.Conditions, iamv1.ConditionReady)
	switch {
	case c == nil:
		return false, "no Ready condition"
	case c.Status != metav1.ConditionTrue:
		return false, fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, truncate(c.Message, 160))
	case st.ObservedGeneration != gen:
		return false, fmt.Sprintf("observedGeneration %d, generation %d", st.ObservedGeneration, gen)
	case c.ObservedGeneration != 0 && c.ObservedGeneration != gen:
		return false, fmt.Sprintf("Ready observedGeneration %d, generation %d", c.ObservedGeneration, gen)
	}
	return true, ""
}

// floorReconciler marks one kind Ready.
type floorReconciler struct {
	client.Client
	newObj func() client.Object
}

func (r *floorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.newObj()
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ok, _ := readyAtGeneration(obj); ok {
		return ctrl.Result{}, nil
	}
	patch, err := floorPatch(obj, time.Now())
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, client.IgnoreNotFound(r.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)))
}

// floorPatch is the status merge patch of the floor: observedGeneration and the
// conditions with Ready=True set (other conditions kept, as a merge patch replaces
// the whole list). Nothing else.
func floorPatch(obj client.Object, now time.Time) ([]byte, error) {
	st := commonStatus(obj)
	if st == nil {
		return nil, fmt.Errorf("%T is not a Studio kind", obj)
	}
	conds := append([]metav1.Condition(nil), st.Conditions...)
	meta.SetStatusCondition(&conds, metav1.Condition{
		Type:               iamv1.ConditionReady,
		Status:             metav1.ConditionTrue,
		Reason:             iamv1.ReasonSucceeded,
		Message:            floorMessage,
		ObservedGeneration: obj.GetGeneration(),
		LastTransitionTime: metav1.NewTime(now),
	})
	return json.Marshal(map[string]any{"status": map[string]any{
		"observedGeneration": obj.GetGeneration(),
		"conditions":         conds,
	}})
}

// floor is the running floor controller.
type floor struct {
	cancel context.CancelFunc
	done   chan error
}

// startFloor starts the floor controller against cfg (without any client-side rate
// limit, metrics and probes off) and returns once its caches are synced.
func startFloor(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, log logr.Logger) (*floor, error) {
	skip := true
	mgr, err := ctrl.NewManager(unthrottled(cfg), ctrl.Options{
		Scheme:                 scheme,
		Logger:                 log,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
		Controller:             config.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		return nil, fmt.Errorf("floor manager: %w", err)
	}
	for _, k := range studioKinds {
		err := ctrl.NewControllerManagedBy(mgr).
			Named("floor-"+k.name).
			// Its own status writes need no second look: only creations and spec
			// changes start a reconcile.
			For(k.obj(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			WithOptions(controller.Options{MaxConcurrentReconciles: floorWorkers}).
			Complete(&floorReconciler{Client: mgr.GetClient(), newObj: k.obj})
		if err != nil {
			return nil, fmt.Errorf("floor controller %s: %w", k.name, err)
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &floor{cancel: cancel, done: make(chan error, 1)}
	go func() { f.done <- mgr.Start(runCtx) }()
	syncCtx, cancelSync := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelSync()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		f.stop()
		return nil, fmt.Errorf("floor: caches did not sync")
	}
	return f, nil
}

// stop stops the floor and waits for its workers.
func (f *floor) stop() {
	f.cancel()
	select {
	case <-f.done:
	case <-time.After(30 * time.Second):
	}
}
