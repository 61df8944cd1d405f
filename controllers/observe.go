package controllers

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// observation knows which agencies are under managementPolicy Observe (from the
// cache) and which agency a grant's scope is in: an environment's by its Environment
// object, else by the store's record of it (the object may be gone).
type observation struct {
	cache client.Reader
	envs  *listing[store.Environment]
}

// scopes is one reading of the policies: the agencies under Observe and the mapping
// of scopes to agencies.
type scopes struct {
	observed map[string]bool
	agencyOf planner.AgencyOf
}

// any reports whether some agency is under Observe at all; when none is, nothing
// else of scopes is needed.
func (s scopes) any() bool { return len(s.observed) > 0 }

// touched returns the agencies grant sets are in, and those of them under Observe.
func (s scopes) touched(sets ...[]store.Grant) (all, observed []string) {
	if !s.any() {
		return nil, nil
	}
	all = planner.Agencies(s.agencyOf, sets...)
	for _, a := range all {
		if s.observed[a] {
			observed = append(observed, a)
		}
	}
	return all, observed
}

// read reads the policies now. With no agency under Observe (the common case) it
// costs one cache list.
func (o *observation) read(ctx context.Context) (scopes, error) {
	if o == nil {
		return scopes{}, nil
	}
	list := &iamv1.AgencyList{}
	if err := o.cache.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return scopes{}, err
	}
	s := scopes{}
	for i := range list.Items {
		if list.Items[i].Spec.ManagementPolicy == iamv1.ManagementObserve {
			if s.observed == nil {
				s.observed = map[string]bool{}
			}
			s.observed[list.Items[i].Name] = true
		}
	}
	if !s.any() {
		return s, nil
	}
	stored := map[string]string{}
	o.envs.each(func(key string, e store.Environment) { stored[key] = e.Agency })
	if len(stored) == 0 {
		o.envs.lookup(ctx, "") // loads the first copy
		o.envs.each(func(key string, e store.Environment) { stored[key] = e.Agency })
	}
	s.agencyOf = func(sc store.Scope) string {
		if sc.Agency != "" || sc.Environment == "" {
			return sc.Agency
		}
		if ns, name, ok := strings.Cut(sc.Environment, "."); ok {
			env := &iamv1.Environment{}
			if err := o.cache.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, env); err == nil {
				return env.Spec.AgencyRef.Name
			}
		}
		return stored[sc.Environment]
	}
	return s, nil
}

// observedFor reports whether agency is under Observe (false when it is gone).
func (o *observation) observedFor(ctx context.Context, agency string) (bool, error) {
	a := &iamv1.Agency{}
	if err := o.cache.Get(ctx, types.NamespacedName{Name: agency}, a); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return a.Spec.ManagementPolicy == iamv1.ManagementObserve, nil
}

// setPlanned shows on conds whether the object is (partly) observed: condition
// Planned, reason ObserveOnly, with message; removed when it is not.
func setPlanned(conds *[]metav1.Condition, generation int64, observed bool, message string) {
	if !observed {
		meta.RemoveStatusCondition(conds, iamv1.ConditionPlanned)
		return
	}
	setTrueCondition(conds, generation, iamv1.ConditionPlanned, iamv1.ReasonObserveOnly, message)
}

// planSummary says in a few words what a user's plan would change.
func planSummary(p *iamv1.PlannedChanges) string {
	if planner.PlanEmpty(p) {
		return "the Studio already matches; Full would change nothing"
	}
	var parts []string
	switch p.Record {
	case iamv1.PlannedCreate:
		parts = append(parts, "create the user")
	case iamv1.PlannedAdopt:
		parts = append(parts, "adopt the user's record")
	case iamv1.PlannedUpdate:
		parts = append(parts, "update the user's record")
	}
	if n := len(p.Profile); n > 0 && p.Record != iamv1.PlannedUpdate {
		parts = append(parts, fmt.Sprintf("change %s", plural(n, "profile field")))
	}
	var add, remove int
	for _, g := range p.Grants {
		add += len(g.Add)
		remove += len(g.Remove)
		if g.Block {
			remove++
		}
		if g.Unblock {
			add++
		}
	}
	if add > 0 {
		parts = append(parts, fmt.Sprintf("grant %s", plural(add, "role")))
	}
	if remove > 0 {
		parts = append(parts, fmt.Sprintf("revoke %s", plural(remove, "role")))
	}
	if p.Invitation {
		parts = append(parts, "send an invitation")
	}
	return "Full would " + strings.Join(parts, ", ")
}

// observeMessage is the Ready and Planned message of an object under Observe.
func observeMessage(agencies []string, summary string) string {
	return fmt.Sprintf("observe-only (agency %s): nothing is written to the Studio there; %s (status.plan, kubectl studio plan)",
		strings.Join(agencies, ", "), summary)
}
