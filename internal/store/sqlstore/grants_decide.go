package sqlstore

import (
	"github.com/studio-operator/studio-operator/internal/store"
)

// grantRequest is one PutGrants as the committer sees it: the validated request and,
// once it has run, its answer. Both the generic write path and the pipelined
// PostgreSQL path (grants_pipeline.go) run it; a write may run more than once
// (fallback, retries), so out is assigned afresh every time.
type grantRequest struct {
	key     string
	desired []desiredGrant
	want    []store.Grant
	out     store.GrantSet
}

// newGrantRequest validates a PutGrants request.
func newGrantRequest(key string, grants []store.Grant) (*grantRequest, error) {
	if err := validateKey("key", key); err != nil {
		return nil, err
	}
	desired, err := normalizeGrants(grants)
	if err != nil {
		return nil, err
	}
	req := &grantRequest{key: key, desired: desired, want: make([]store.Grant, len(desired))}
	for i, g := range desired {
		req.want[i] = g.Grant
	}
	return req, nil
}

// grantDecision is what a PutGrants does to a user, decided from the stored state
// alone (pure, so both write paths share it).
type grantDecision struct {
	plan grantPlan
	// owner is the user's ownership after the write; setOwner says managed_by and
	// grants_by_person must be written.
	owner    ownership
	setOwner bool
	// entries are the audit entries, without time and caller (the transaction adds
	// them).
	entries []auditEntry
	out     store.GrantSet
}

// writes reports whether the decision changes anything; a no-op writes nothing.
func (d grantDecision) writes() bool { return len(d.plan.Changes) > 0 || d.owner.adopted }

// checkGrantUser refuses a grant-set write on a user that is not there: missing or
// removed.
func checkGrantUser(u userRow, found bool) error {
	switch {
	case !found:
		return notFoundUser()
	case u.removed():
		return store.Errorf(store.CodeUserRemoved, "", msgUserRemoved)
	}
	return nil
}

// decideGrants decides the write of req on user u (locked, live), whose ownership
// after the write is own, given its stored grants and which of the requested scopes
// exist. Refusals (*store.Error) come before anything is decided to be written.
func decideGrants(req *grantRequest, u userRow, own ownership, stored []storedGrant, refs scopeRefs) (grantDecision, error) {
	plan := planGrants(grantsOf(stored), req.want)
	if len(plan.Changes) == 0 && !own.adopted {
		return grantDecision{plan: plan, owner: own, out: store.GrantSet{Grants: grantsOf(stored), Changed: false}}, nil
	}
	envAgency, err := checkScopes(req.desired, plan.Insert, stored, refs)
	if err != nil {
		return grantDecision{}, err
	}
	d := grantDecision{
		plan:     plan,
		owner:    own,
		setOwner: own.adopted || u.grantsByPerson != own.personFlag(),
		out:      store.GrantSet{Grants: req.want, Changed: true},
	}
	target := userTarget(req.key)
	if len(plan.Changes) > 0 && own.correctsDrift(u.grantsByPerson) {
		d.entries = append(d.entries, auditEntry{action: store.ActionDriftCorrected, target: target, user: req.key,
			details: map[string]any{"kind": "grants", "changes": len(plan.Changes)}})
	}
	if own.adopted {
		d.entries = append(d.entries, auditEntry{action: store.ActionUserAdopted, target: target, user: req.key,
			details: map[string]any{"manager": own.managedBy}})
	}
	for _, ch := range plan.Changes {
		agency := ch.Scope.Agency
		if agency == "" {
			agency = envAgency[ch.Scope.Environment]
		}
		d.entries = append(d.entries, auditEntry{action: ch.action(), target: target, user: req.key, agency: agency,
			environment: ch.Scope.Environment, details: ch.auditDetails()})
	}
	return d, nil
}

// apply returns the user's stored grants after the decision: the desired set, each
// environment with its agency (known from the stored grants and the scope look-up).
func (d grantDecision) apply(req *grantRequest, stored []storedGrant, refs scopeRefs) []storedGrant {
	if !d.writes() {
		return stored
	}
	agencyOf := make(map[string]string, len(stored))
	for _, g := range stored {
		agencyOf[g.Scope.Environment] = g.envAgency
	}
	out := make([]storedGrant, len(req.want))
	for i, g := range req.want {
		envAgency := ""
		if g.Scope.Environment != "" {
			envAgency = agencyOf[g.Scope.Environment]
			if a, ok := refs.environments[g.Scope.Environment]; ok {
				envAgency = a
			}
		}
		out[i] = storedGrant{Grant: g, user: req.key, envAgency: envAgency}
	}
	return out
}
