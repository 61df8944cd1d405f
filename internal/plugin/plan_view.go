package plugin

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// PlanView is what plan -o json|yaml prints: per agency, what switching it to
// managementPolicy Full would change and the revocations the guard holds there, and
// the summary of it all. Agencies are sorted by name, users by name.
type PlanView struct {
	Agencies []AgencyPlanView `json:"agencies"`
	Summary  PlanSummary      `json:"summary"`
}

// AgencyPlanView is one agency's part of the plan.
type AgencyPlanView struct {
	Name string `json:"name"`
	// ManagementPolicy is Full or Observe (unset counts as Full, the default).
	ManagementPolicy iamv1.ManagementPolicy `json:"managementPolicy"`
	// Totals are the operator's totals (status.plan) while the agency is under
	// Observe; nil under Full, or before the operator reported a plan.
	Totals *PlanTotals `json:"totals,omitempty"`
	// PlanHash identifies the Observe plan (status.plan.planHash).
	PlanHash string `json:"planHash,omitempty"`
	// Users are the StudioUsers whose status.plan changes something in this agency,
	// each with its whole plan as the operator reported it.
	Users []UserPlanView `json:"users"`
	// HeldRevocations are the revocations the mass-revocation guard holds here.
	HeldRevocations *HeldRevocationsView `json:"heldRevocations,omitempty"`
}

// PlanTotals are an Agency's status.plan counts.
type PlanTotals struct {
	UsersToCreate        int32 `json:"usersToCreate"`
	RecordsToAdopt       int32 `json:"recordsToAdopt"`
	UsersToUpdate        int32 `json:"usersToUpdate"`
	UsersToRevoke        int32 `json:"usersToRevoke"`
	InvitationsToSend    int32 `json:"invitationsToSend"`
	EnvironmentsToRecord int32 `json:"environmentsToRecord"`
}

// any reports whether the totals count some change.
func (t *PlanTotals) any() bool {
	return t != nil && *t != PlanTotals{}
}

// UserPlanView is one StudioUser's plan. It has the user's name, never its email
// (the plan itself names an email only when Full would change it).
type UserPlanView struct {
	Name string               `json:"name"`
	Plan iamv1.PlannedChanges `json:"plan"`
}

// HeldRevocationsView is an Agency's status.heldRevocations and the users held.
type HeldRevocationsView struct {
	Users    int32      `json:"users"`
	PlanHash string     `json:"planHash"`
	Held     []HeldUser `json:"held"`
}

// HeldUser is a StudioUser whose revocation is held, and why the guard holds it.
type HeldUser struct {
	Name string `json:"name"`
	Why  string `json:"why"`
}

// PlanSummary adds the plan up. Users are counted once however many agencies they
// appear in; in the counts below "roles" are those of the agencies shown.
type PlanSummary struct {
	// ToCreate: users without a record in the Studio.
	ToCreate int `json:"toCreate"`
	// ToAdopt: Studio users no operator manages yet that a StudioUser names.
	ToAdopt int `json:"toAdopt"`
	// ToUpdate: users (not created) whose profile changes or who gain roles (or
	// whose environment roles get unblocked).
	ToUpdate int `json:"toUpdate"`
	// ToRevoke: users who lose roles (or whose environment roles get blocked).
	ToRevoke int `json:"toRevoke"`
	// Invitations: invitation emails Full would send.
	Invitations int `json:"invitations"`
	// EnvironmentsToRecord: from the agencies' totals.
	EnvironmentsToRecord int `json:"environmentsToRecord"`
	// RevocationsHeld: users whose revocation the guard holds, over all agencies.
	RevocationsHeld int `json:"revocationsHeld"`
	// Changes is what the exit code says: something to review.
	Changes bool `json:"changes"`
}

// PlanInput is what BuildPlan reads: the Agencies to cover and every StudioUser.
type PlanInput struct {
	Agencies []iamv1.Agency
	Users    []iamv1.StudioUser
}

// policyOf is an Agency's management policy; unset is the default, Full.
func policyOf(a *iamv1.Agency) iamv1.ManagementPolicy {
	return cmp.Or(a.Spec.ManagementPolicy, iamv1.ManagementFull)
}

// BuildPlan makes the plan view: for each agency under Observe the users whose
// status.plan changes something there (from their Planned status, which the operator
// keeps), and for every agency the held revocations. A user's plan is shown only in
// the agencies its plan covers, and only for agencies under Observe now (a plan
// left from before a switch to Full is ignored).
func BuildPlan(in PlanInput) PlanView {
	agencies := slices.Clone(in.Agencies)
	slices.SortFunc(agencies, func(a, b iamv1.Agency) int { return cmp.Compare(a.Name, b.Name) })
	users := slices.Clone(in.Users)
	slices.SortFunc(users, func(a, b iamv1.StudioUser) int { return cmp.Compare(a.Name, b.Name) })

	view := PlanView{Agencies: []AgencyPlanView{}}
	observed := map[string]bool{}
	for i := range agencies {
		a := &agencies[i]
		av := AgencyPlanView{Name: a.Name, ManagementPolicy: policyOf(a), Users: []UserPlanView{}}
		if av.ManagementPolicy == iamv1.ManagementObserve {
			observed[a.Name] = true
			if p := a.Status.Plan; p != nil {
				av.Totals = &PlanTotals{
					UsersToCreate: p.UsersToCreate, RecordsToAdopt: p.RecordsToAdopt, UsersToUpdate: p.UsersToUpdate,
					UsersToRevoke: p.UsersToRevoke, InvitationsToSend: p.InvitationsToSend, EnvironmentsToRecord: p.EnvironmentsToRecord,
				}
				av.PlanHash = p.PlanHash
				view.Summary.EnvironmentsToRecord += int(p.EnvironmentsToRecord)
			}
			for _, u := range users {
				if u.Status.Plan == nil {
					continue
				}
				if _, ok := planIn(*u.Status.Plan, map[string]bool{a.Name: true}); ok {
					av.Users = append(av.Users, UserPlanView{Name: u.Name, Plan: normalizePlan(*u.Status.Plan)})
				}
			}
		}
		if h := a.Status.HeldRevocations; h != nil {
			av.HeldRevocations = &HeldRevocationsView{Users: h.Users, PlanHash: h.PlanHash, Held: heldUsers(a.Name, users)}
			view.Summary.RevocationsHeld += int(h.Users)
		}
		view.Agencies = append(view.Agencies, av)
	}

	for _, u := range users {
		if u.Status.Plan == nil {
			continue
		}
		p, ok := planIn(*u.Status.Plan, observed)
		if !ok {
			continue
		}
		c := countPlan(p)
		view.Summary.ToCreate += c.create
		view.Summary.ToAdopt += c.adopt
		view.Summary.ToUpdate += c.update
		view.Summary.ToRevoke += c.revoke
		view.Summary.Invitations += c.invitation
	}
	s := &view.Summary
	s.Changes = s.ToCreate+s.ToAdopt+s.ToUpdate+s.ToRevoke+s.Invitations+s.EnvironmentsToRecord+s.RevocationsHeld > 0
	for _, a := range view.Agencies {
		s.Changes = s.Changes || a.Totals.any()
	}
	return view
}

// planIn is p with only the grants of the agencies in scope, and whether that still
// changes something. Record, profile and invitation are the user's, not one agency's:
// they stay whenever p covers one of those agencies.
func planIn(p iamv1.PlannedChanges, scope map[string]bool) (iamv1.PlannedChanges, bool) {
	if !slices.ContainsFunc(p.Agencies, func(a string) bool { return scope[a] }) {
		return iamv1.PlannedChanges{}, false
	}
	out := normalizePlan(p)
	out.Grants = slices.DeleteFunc(out.Grants, func(g iamv1.GrantChange) bool { return !scope[g.Agency] })
	empty := out.Record == "" && len(out.Profile) == 0 && !out.Invitation &&
		!slices.ContainsFunc(out.Grants, grantChanges)
	return out, !empty
}

// grantChanges reports whether g changes anything.
func grantChanges(g iamv1.GrantChange) bool {
	return grantAdds(g) || grantRemoves(g)
}

// grantAdds: g grants roles, or lets the agency's roles ripple down again (unblock).
func grantAdds(g iamv1.GrantChange) bool { return len(g.Add) > 0 || g.Unblock }

// grantRemoves: g revokes roles, or stops the agency's from rippling down (block).
func grantRemoves(g iamv1.GrantChange) bool { return len(g.Remove) > 0 || g.Block }

// normalizePlan is a copy of p sorted the way the operator documents it (agencies;
// profile by field; grants by agency, agency scope first, then environment; roles),
// so the output is deterministic even if a status was written otherwise.
func normalizePlan(p iamv1.PlannedChanges) iamv1.PlannedChanges {
	out := *p.DeepCopy()
	slices.Sort(out.Agencies)
	slices.SortStableFunc(out.Profile, func(a, b iamv1.FieldChange) int { return cmp.Compare(a.Field, b.Field) })
	slices.SortStableFunc(out.Grants, func(a, b iamv1.GrantChange) int {
		return cmp.Or(cmp.Compare(a.Agency, b.Agency), cmp.Compare(a.Environment, b.Environment))
	})
	for i := range out.Grants {
		slices.Sort(out.Grants[i].Add)
		slices.Sort(out.Grants[i].Remove)
	}
	return out
}

// planCounts is one user's contribution to the summary, counted as the operator
// counts an Agency's totals: an update is a profile change or new roles (or an
// environment unblocked) of a user that is not created; a revocation is a role
// removed or an environment blocked.
type planCounts struct{ create, adopt, update, revoke, invitation int }

func countPlan(p iamv1.PlannedChanges) planCounts {
	var c planCounts
	switch p.Record {
	case iamv1.PlannedCreate:
		c.create = 1
	case iamv1.PlannedAdopt:
		c.adopt = 1
	}
	if p.Record != iamv1.PlannedCreate && (len(p.Profile) > 0 || slices.ContainsFunc(p.Grants, grantAdds)) {
		c.update = 1
	}
	if slices.ContainsFunc(p.Grants, grantRemoves) {
		c.revoke = 1
	}
	if p.Invitation {
		c.invitation = 1
	}
	return c
}

// heldUsers are the StudioUsers whose revocation in agency the guard holds
// (condition Stalled, reason RevocationHeld, naming the agency), by name, with the
// part of the message about that agency.
func heldUsers(agency string, users []iamv1.StudioUser) []HeldUser {
	out := []HeldUser{}
	needle := fmt.Sprintf("agency %q: ", agency)
	for _, u := range users {
		c := meta.FindStatusCondition(u.Status.Conditions, iamv1.ConditionStalled)
		if c == nil || c.Reason != iamv1.ReasonRevocationHeld || !strings.Contains(c.Message, needle) {
			continue
		}
		why := c.Message[strings.Index(c.Message, needle)+len(needle):]
		if i := strings.Index(why, "; agency "); i >= 0 {
			why = why[:i]
		}
		out = append(out, HeldUser{Name: u.Name, Why: why})
	}
	slices.SortFunc(out, func(a, b HeldUser) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
