package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/revocation"
	"github.com/studio-operator/studio-operator/internal/store"
)

// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get

// revocations puts every write that would take all of a user's access in an agency
// past the mass-revocation guard (internal/operator/revocation): the grant writer's
// and a user's removal. What the guard holds stays in the store; the rest of the
// write goes ahead.
type revocations struct {
	guard *revocation.Guard
	// cache reads Agencies (their revocationGuard); api reads the CRDs.
	cache, api client.Reader
	grants     *listing[[]store.Grant]
	envs       *listing[store.Environment]
	crds       crdCheck
	// agencyEvents and userEvents re-queue Agencies (their holds changed) and
	// StudioUsers (their held revocations were approved).
	agencyEvents, userEvents chan event.TypedGenericEvent[client.Object]
	// started and window: for one window after the process started, holds an Agency
	// records from the previous process stand until its users are decided again.
	started time.Time
	window  time.Duration
}

func newRevocations(window time.Duration, cache, api client.Reader, d *storeDirectory) *revocations {
	v := &revocations{
		cache: cache, api: api, grants: d.grants, envs: d.environments,
		started: time.Now(), window: window,
		agencyEvents: make(chan event.TypedGenericEvent[client.Object], 1024),
		userEvents:   make(chan event.TypedGenericEvent[client.Object], 4096),
	}
	v.guard = revocation.New(window, func(agency string) {
		send(v.agencyEvents, &iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: agency}})
	})
	return v
}

// requeueUsers re-queues the StudioUsers named.
func (v *revocations) requeueUsers(names []string) {
	for _, n := range names {
		send(v.userEvents, &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
}

// send queues an event without blocking; a full queue drops it, and the resync
// brings the object back.
func send(ch chan event.TypedGenericEvent[client.Object], obj client.Object) {
	select {
	case ch <- event.TypedGenericEvent[client.Object]{Object: obj}:
	default:
	}
}

// heldRevocation is one agency in which a user keeps access the guard holds.
type heldRevocation struct {
	agency, message string
}

// filter returns want plus, for every agency in which the user would lose all its
// access and the guard holds that, the grants of before in that agency; and those
// agencies. A user that keeps access in an agency (or gets it back) is released from
// any hold there.
func (v *revocations) filter(ctx context.Context, user string, before, want []store.Grant) ([]store.Grant, []heldRevocation) {
	if v == nil || len(before) == 0 {
		return want, nil
	}
	agencyOf := v.agencyOf(ctx)
	had, keeps := accessByAgency(before, agencyOf), accessByAgency(want, agencyOf)
	var held []heldRevocation
	for _, a := range sortedKeys(had) {
		if keeps[a] {
			v.guard.Release(a, user)
			continue
		}
		d := v.guard.Admit(v.request(ctx, a, user, before, want, agencyOf))
		if d.Allowed {
			continue
		}
		held = append(held, heldRevocation{agency: a, message: d.Message})
		for _, g := range before {
			if agencyOf(g.Scope) == a && !slices.ContainsFunc(want, func(w store.Grant) bool { return w.Scope == g.Scope }) {
				want = append(slices.Clone(want), g)
			}
		}
	}
	if len(held) > 0 {
		sortGrants(want)
	}
	return want, held
}

// request is the guard's question for user losing all access in agency a.
func (v *revocations) request(ctx context.Context, a, user string, before, want []store.Grant, agencyOf func(store.Scope) string) revocation.Request {
	r := revocation.Request{
		Agency: a, User: user,
		Policy:   revocation.Policy{MaxPercent: revocation.DefaultMaxPercent, MinUsers: revocation.DefaultMinUsers},
		CRDsGone: v.crds.gone(ctx, v.api),
		UsersWithAccess: func() int {
			n := 0
			v.grants.each(func(_ string, gs []store.Grant) {
				if accessByAgency(gs, agencyOf)[a] {
					n++
				}
			})
			return n
		},
	}
	ag := &iamv1.Agency{}
	if err := v.cache.Get(ctx, client.ObjectKey{Name: a}, ag); err == nil {
		// Holds recorded by a previous process are inherited, not forgotten: a
		// restart must not let another budget of revocations through.
		r.HeldBefore = ag.Status.HeldRevocations != nil
		if rg := ag.Spec.RevocationGuard; rg != nil {
			if rg.MaxPercent != nil {
				r.Policy.MaxPercent = int(*rg.MaxPercent)
			}
			if rg.MinUsers != nil {
				r.Policy.MinUsers = int(*rg.MinUsers)
			}
		}
	}
	if adminAt(before, a) && !adminAt(want, a) {
		others := 0
		v.grants.each(func(key string, gs []store.Grant) {
			if key != user && adminAt(gs, a) {
				others++
			}
		})
		r.LastAdmin = others == 0
	}
	return r
}

// agencyOf maps a grant's scope to its agency, environments through the store's
// listing of them (the Environment object may be gone: a deleted namespace). The
// mapping is read once, so that it can be used while another listing is locked.
func (v *revocations) agencyOf(ctx context.Context) func(store.Scope) string {
	envs := map[string]string{}
	read := func() {
		v.envs.each(func(key string, e store.Environment) { envs[key] = e.Agency })
	}
	read()
	if len(envs) == 0 {
		v.envs.lookup(ctx, "") // loads the first copy
		read()
	}
	return func(sc store.Scope) string {
		if sc.Agency != "" {
			return sc.Agency
		}
		return envs[sc.Environment]
	}
}

// accessByAgency: the agencies in which grants give at least one role.
func accessByAgency(grants []store.Grant, agencyOf func(store.Scope) string) map[string]bool {
	out := map[string]bool{}
	for _, g := range grants {
		if a := agencyOf(g.Scope); a != "" && len(g.Roles) > 0 {
			out[a] = true
		}
	}
	return out
}

// adminAt: grants hold OrganisationManager or Administrator across agency a.
func adminAt(grants []store.Grant, a string) bool {
	return slices.ContainsFunc(grants, func(g store.Grant) bool {
		return g.Scope.Agency == a && (slices.Contains(g.Roles, cascade.OrganisationManager) || slices.Contains(g.Roles, cascade.Administrator))
	})
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sortGrants puts grants in the store's order: agencies first, then environments,
// each by key.
func sortGrants(gs []store.Grant) {
	slices.SortFunc(gs, func(a, b store.Grant) int {
		if (a.Scope.Agency == "") != (b.Scope.Agency == "") {
			if a.Scope.Agency != "" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Scope.Agency+a.Scope.Environment, b.Scope.Agency+b.Scope.Environment)
	})
}

func heldMessage(held []heldRevocation) string {
	parts := make([]string, len(held))
	for i, h := range held {
		parts[i] = fmt.Sprintf("agency %q: %s", h.agency, h.message)
	}
	return "revocation held, the user keeps its access there until it is approved (kubectl studio approve AGENCY): " + strings.Join(parts, "; ")
}

// crdCheck reports whether one of the operator's CRDs is being deleted or missing.
// With the CRDs going, every custom resource is deleted with them; that must not
// revoke anyone's access. A "gone" answer is kept for crdCheckEvery, so that the
// thousands of revocations a CRD deletion asks for cost few reads; a "present" answer
// is never reused: the API server marks the CRD deleted before it deletes the objects
// whose deletion asks for the revocation, so only a read made after that sees it, and
// an answer read a moment earlier would let the agency's whole limit through.
type crdCheck struct {
	mu      sync.Mutex
	at      time.Time
	goneNow bool
}

const crdCheckEvery = 2 * time.Second

var operatorCRDs = []string{
	"studiousers.iam.studio-operator.io", "rolebindings.iam.studio-operator.io",
	"agencies.iam.studio-operator.io", "environments.iam.studio-operator.io",
}

func (c *crdCheck) gone(ctx context.Context, r client.Reader) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goneNow && time.Since(c.at) < crdCheckEvery {
		return true
	}
	c.at, c.goneNow = time.Now(), false
	for _, name := range operatorCRDs {
		crd := &metav1.PartialObjectMetadata{}
		crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
		err := r.Get(ctx, client.ObjectKey{Name: name}, crd)
		switch {
		case err == nil && crd.DeletionTimestamp.IsZero():
			continue
		case err != nil && !apierrors.IsNotFound(err):
			// When in doubt, hold: a revocation can wait for the next look.
			ctrllog.FromContext(ctx).Info("cannot read the operator's CRD; holding revocations meanwhile", "crd", name, "error", err.Error())
		}
		c.goneNow = true
		return true
	}
	return false
}
