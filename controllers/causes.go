package controllers

import (
	"context"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
)

// revocationCauses remembers, per user, the RoleBindings that stopped naming it — a
// subject removed from them, or the binding deleted — until the user's grants are
// written. The binding is then no longer among those naming the user, yet its edit
// is what the revocation comes from: the audit must credit it, as it credits the
// binding whose edit grants a role.
type revocationCauses struct {
	mu sync.Mutex
	m  map[string][]provenance.Candidate
}

// maxCausesPerUser bounds the memory of a user that is not reconciled for a while.
const maxCausesPerUser = 8

func newRevocationCauses() *revocationCauses {
	return &revocationCauses{m: map[string][]provenance.Candidate{}}
}

func (c *revocationCauses) note(user string, cand provenance.Candidate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := append(c.m[user], cand)
	if len(l) > maxCausesPerUser {
		l = l[len(l)-maxCausesPerUser:]
	}
	c.m[user] = l
}

// of returns the causes noted for user.
func (c *revocationCauses) of(user string) []provenance.Candidate {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.m[user])
}

// done forgets the causes of user that a grant write has credited (those of, as
// they were at planning); causes noted since stay for the next write.
func (c *revocationCauses) done(user string, credited []provenance.Candidate) {
	if c == nil || len(credited) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.m[user]
	if len(credited) >= len(l) {
		delete(c.m, user)
		return
	}
	c.m[user] = slices.Clone(l[len(credited):])
}

func (c *revocationCauses) forget(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, user)
}

// noting is the StudioUsers' RoleBinding handler: it notes the revocation causes an
// event carries (subjects an update removed; every subject of a deleted binding)
// before handing the event on.
type noting struct {
	handler.EventHandler
	causes *revocationCauses
}

func (n noting) Update(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	old, cur := e.ObjectOld.(*iamv1.RoleBinding), e.ObjectNew.(*iamv1.RoleBinding)
	for _, s := range old.Spec.Subjects {
		if !slices.ContainsFunc(cur.Spec.Subjects, func(x iamv1.Subject) bool { return x.Name == s.Name }) {
			n.causes.note(s.Name, provenance.Edit(kindRoleBinding, old, cur, time.Now(), FieldManager))
		}
	}
	if !cur.DeletionTimestamp.IsZero() && old.DeletionTimestamp.IsZero() {
		for _, s := range cur.Spec.Subjects {
			n.causes.note(s.Name, provenance.Deletion(kindRoleBinding, cur, time.Now()))
		}
	}
	n.EventHandler.Update(ctx, e, q)
}

func (n noting) Delete(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if b, ok := e.Object.(*iamv1.RoleBinding); ok {
		for _, s := range b.Spec.Subjects {
			n.causes.note(s.Name, provenance.Deletion(kindRoleBinding, b, time.Now()))
		}
	}
	n.EventHandler.Delete(ctx, e, q)
}
