package crash

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// The invariants, by the names the report uses.
const (
	invMails   = "one invitation mail per send"
	invGrants  = "store grants = planner over the final manifests"
	invAudit   = "audit chain verifies"
	invCurrent = "every object kstatus Current"
	invStuck   = "nothing Reconciling or Terminating"
)

var invariantNames = []string{invMails, invGrants, invAudit, invCurrent, invStuck}

// verdict lists, per invariant, what violates it; an invariant without entries holds.
// Entries name objects, never email addresses or links.
type verdict map[string][]string

func (v verdict) add(inv, format string, args ...any) {
	v[inv] = append(v[inv], fmt.Sprintf(format, args...))
}

func (v verdict) ok() bool {
	for _, p := range v {
		if len(p) > 0 {
			return false
		}
	}
	return true
}

// summary is one line per invariant: "holds", or the first problems.
func (v verdict) summary() string {
	var b strings.Builder
	for _, inv := range invariantNames {
		p := v[inv]
		switch {
		case len(p) == 0:
			fmt.Fprintf(&b, "  %-48s holds\n", inv)
		default:
			shown := p[:min(len(p), 8)]
			fmt.Fprintf(&b, "  %-48s VIOLATED (%d): %s\n", inv, len(p), strings.Join(shown, "; "))
		}
	}
	return b.String()
}

// clusterState is the cluster's objects at one moment.
type clusterState struct {
	agencies   []iamv1.Agency
	envs       []iamv1.Environment
	users      []iamv1.StudioUser
	bindings   []iamv1.RoleBinding
	namespaces []corev1.Namespace
}

func readCluster(ctx context.Context, c client.Reader) (clusterState, error) {
	var (
		cs clusterState
		al iamv1.AgencyList
		el iamv1.EnvironmentList
		ul iamv1.StudioUserList
		bl iamv1.RoleBindingList
		nl corev1.NamespaceList
	)
	for _, l := range []client.ObjectList{&al, &el, &ul, &bl, &nl} {
		if err := c.List(ctx, l); err != nil {
			return cs, fmt.Errorf("list %T: %w", l, err)
		}
	}
	cs.agencies, cs.envs, cs.users, cs.bindings, cs.namespaces = al.Items, el.Items, ul.Items, bl.Items, nl.Items
	return cs, nil
}

// snapshot is the whole cluster as the planner reads it.
func (cs clusterState) snapshot() planner.Snapshot {
	s := planner.Snapshot{
		Agencies:        map[string]*iamv1.Agency{},
		Environments:    map[types.NamespacedName]*iamv1.Environment{},
		Users:           map[string]*iamv1.StudioUser{},
		NamespaceLabels: map[string]map[string]string{},
	}
	for i := range cs.agencies {
		s.Agencies[cs.agencies[i].Name] = &cs.agencies[i]
	}
	for i := range cs.envs {
		s.Environments[client.ObjectKeyFromObject(&cs.envs[i])] = &cs.envs[i]
	}
	for i := range cs.users {
		s.Users[cs.users[i].Name] = &cs.users[i]
	}
	for _, ns := range cs.namespaces {
		labels := ns.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		s.NamespaceLabels[ns.Name] = labels
	}
	return s
}

// expectedPlans is, per live StudioUser, what the operator's own planner derives from
// the manifests: the grant set the store must hold and the access status must show.
func (cs clusterState) expectedPlans() map[string]planner.UserPlan {
	s := cs.snapshot()
	out := map[string]planner.UserPlan{}
	for i := range cs.users {
		u := &cs.users[i]
		if !u.DeletionTimestamp.IsZero() {
			continue
		}
		var naming []iamv1.RoleBinding
		for _, b := range cs.bindings {
			if slices.ContainsFunc(b.Spec.Subjects, func(sub iamv1.Subject) bool { return sub.Name == u.Name }) {
				naming = append(naming, b)
			}
		}
		out[u.Name] = planner.PlanUser(u, naming, s)
	}
	return out
}

// checker evaluates the invariants against one cluster and one store.
type checker struct {
	c       client.Reader
	store   store.API
	mailDir string
	// gone are the StudioUsers the workload deleted (deletionPolicy Delete).
	gone []string
}

// check evaluates every invariant once; audit says whether to walk the audit chain
// (done once, at the end, since it reads every entry).
func (k checker) check(ctx context.Context, audit bool) (verdict, error) {
	v := verdict{}
	cs, err := readCluster(ctx, k.c)
	if err != nil {
		return nil, err
	}
	k.checkObjects(cs, v)
	if err := k.checkGrants(ctx, cs, v); err != nil {
		return nil, err
	}
	if err := k.checkMails(ctx, cs, v); err != nil {
		return nil, err
	}
	if audit {
		res, err := k.store.VerifyAudit(ctx)
		switch {
		case err != nil:
			return nil, fmt.Errorf("audit verify: %w", err)
		case !res.OK:
			v.add(invAudit, "entry %d of %d: %s", deref(res.FirstBad), res.Entries, res.Problem)
		}
	}
	return v, nil
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// checkObjects: every object of the four kinds is kstatus Current, none has
// Reconciling True and none is left Terminating.
func (k checker) checkObjects(cs clusterState, v verdict) {
	var objs []client.Object
	for i := range cs.agencies {
		objs = append(objs, &cs.agencies[i])
	}
	for i := range cs.envs {
		objs = append(objs, &cs.envs[i])
	}
	for i := range cs.users {
		objs = append(objs, &cs.users[i])
	}
	for i := range cs.bindings {
		objs = append(objs, &cs.bindings[i])
	}
	for _, o := range objs {
		name := kindOf(o) + " " + client.ObjectKeyFromObject(o).String()
		st, msg, err := kstatusOf(o)
		switch {
		case err != nil:
			v.add(invCurrent, "%s: %v", name, err)
		case st != status.CurrentStatus:
			v.add(invCurrent, "%s is %s (%s)", name, st, msg)
		}
		if c := meta.FindStatusCondition(conditionsOf(o), "Reconciling"); c != nil && c.Status == "True" {
			v.add(invStuck, "%s Reconciling: %s", name, c.Reason)
		}
		if !o.GetDeletionTimestamp().IsZero() {
			v.add(invStuck, "%s still Terminating", name)
		}
	}
}

// checkGrants: each live user's grant set in the store is the planner's, its
// status.access the planner's access and its suspension the spec's; each user the
// workload deleted is Removed in the store with no grants, and no other store user
// holds any.
func (k checker) checkGrants(ctx context.Context, cs clusterState, v verdict) error {
	plans := cs.expectedPlans()
	live := map[string]bool{}
	for i := range cs.users {
		u := &cs.users[i]
		plan, ok := plans[u.Name]
		if !ok {
			continue
		}
		live[u.Name] = true
		got, err := k.store.GetGrants(ctx, u.Name)
		switch {
		case store.IsNotFound(err):
			v.add(invGrants, "user %s is not in the store", u.Name)
			continue
		case err != nil:
			return err
		}
		if !planner.GrantsEqual(got.Grants, plan.Grants) {
			v.add(invGrants, "user %s: store grants %s, planner %s", u.Name, grantsString(got.Grants), grantsString(plan.Grants))
		}
		if d := planner.DiffAccess(u.Status.Access, plan.Access); !d.Empty() {
			v.add(invGrants, "user %s: status.access differs from the planner's (missing %v, extra %v)", u.Name, d.Granted, d.Revoked)
		}
		su, err := k.store.GetUser(ctx, u.Name)
		if err != nil {
			return err
		}
		if su.Suspended != u.Spec.Suspended {
			v.add(invGrants, "user %s: suspended %v in the store, %v in the spec", u.Name, su.Suspended, u.Spec.Suspended)
		}
	}
	all, err := storeListAllGrants(ctx, k.store)
	if err != nil {
		return err
	}
	for _, ug := range all {
		if live[ug.User] {
			continue
		}
		if len(ug.Grants) > 0 {
			v.add(invGrants, "user %s has no StudioUser but holds grants %s", ug.User, grantsString(ug.Grants))
		}
	}
	for _, name := range k.gone {
		su, err := k.store.GetUser(ctx, name)
		switch {
		case store.IsNotFound(err):
			continue // deleted before the operator had recorded it
		case err != nil:
			return err
		}
		if su.State != store.UserRemoved {
			v.add(invGrants, "deleted user %s is %s in the store, not Removed", name, su.State)
		}
	}
	return nil
}

// storeListAllGrants lists every user's grant set, with the listing client when the
// store client has one.
func storeListAllGrants(ctx context.Context, s store.API) ([]store.UserGrants, error) {
	type lister interface {
		ListAllGrants(context.Context, store.GrantFilter) ([]store.UserGrants, error)
	}
	if l, ok := s.(lister); ok {
		return l.ListAllGrants(ctx, store.GrantFilter{})
	}
	return nil, fmt.Errorf("store client %T cannot list all grants", s)
}

// grantsString is a grant set in a compact, address-free form.
func grantsString(gs []store.Grant) string {
	parts := make([]string, 0, len(gs))
	for _, g := range planner.NormalizeGrants(gs) {
		sc := g.Scope.Agency
		if sc == "" {
			sc = g.Scope.Environment
		}
		roles := make([]string, len(g.Roles))
		for i, r := range g.Roles {
			roles[i] = string(r)
		}
		parts = append(parts, sc+"="+strings.Join(roles, "+"))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// kstatusOf is obj's kstatus as a generic tool (kubectl wait, Argo CD, Flux) computes
// it from the unstructured object.
func kstatusOf(obj client.Object) (status.Status, string, error) {
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return "", "", err
	}
	u := &unstructured.Unstructured{Object: raw}
	u.SetGroupVersionKind(iamv1.GroupVersion.WithKind(kindOf(obj)))
	res, err := status.Compute(u)
	if err != nil {
		return "", "", err
	}
	return res.Status, res.Message, nil
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *iamv1.Agency:
		return "Agency"
	case *iamv1.Environment:
		return "Environment"
	case *iamv1.RoleBinding:
		return "RoleBinding"
	case *iamv1.StudioUser:
		return "StudioUser"
	}
	return fmt.Sprintf("%T", obj)
}

func conditionsOf(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *iamv1.Agency:
		return o.Status.Conditions
	case *iamv1.Environment:
		return o.Status.Conditions
	case *iamv1.RoleBinding:
		return o.Status.Conditions
	case *iamv1.StudioUser:
		return o.Status.Conditions
	}
	return nil
}
