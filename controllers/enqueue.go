package controllers

import (
	"context"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// settleDelay is how long a user waits after a change to an object that affects it
// (a RoleBinding, Environment, Agency or Namespace) before it is reconciled. Changes
// come in bursts — a GitOps sync applies a user's bindings one after the other, an
// agency's Ready status follows its creation — and the work queue keeps one entry per
// user, so the burst costs one reconcile and one status write instead of one per
// object. It also lets the cache catch up with the operator's own last write to the
// user, which otherwise costs a conflict and a retry.
const settleDelay = 500 * time.Millisecond

// enqueueSettled is handler.EnqueueRequestsFromMapFunc with the requests added after
// settleDelay. For an update both the old and the new object are mapped, so a user a
// binding no longer names is reconciled too.
func enqueueSettled(fn handler.MapFunc) handler.EventHandler {
	add := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		seen := map[reconcile.Request]bool{}
		for _, o := range objs {
			for _, req := range fn(ctx, o) {
				if !seen[req] {
					seen[req] = true
					q.AddAfter(req, settleDelay)
				}
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q, e.Object)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q, e.Object)
		},
	}
}
