package plugin

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// Plan lines are marked as in `terraform plan`: + something Full would add (a user,
// a role, an invitation, the inherited roles of an environment again), - something
// it would take away (a role, the inherited roles of an environment), ~ something it
// would change in place (a profile field, a record to adopt or update).
const (
	markAdd    = "+"
	markRemove = "-"
	markChange = "~"
)

// WritePlan prints view for people: per agency a header (policy and plan hash), the
// users with one line per change, the held revocations with the approve hint, and a
// final summary line. Users are shown by name: an email appears only in a change of
// the email field itself.
func WritePlan(w io.Writer, view PlanView) error {
	var b strings.Builder
	for i, a := range view.Agencies {
		if i > 0 {
			b.WriteString("\n")
		}
		writeAgencyPlan(&b, a)
	}
	if len(view.Agencies) > 0 {
		b.WriteString("\n")
	}
	s := view.Summary
	fmt.Fprintf(&b, "Plan: %d to create, %d to adopt, %d to update, %d to revoke, %d invitations.\n",
		s.ToCreate, s.ToAdopt, s.ToUpdate, s.ToRevoke, s.Invitations)
	if s.RevocationsHeld > 0 {
		fmt.Fprintf(&b, "Held: %d revocations await approval.\n", s.RevocationsHeld)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeAgencyPlan(b *strings.Builder, a AgencyPlanView) {
	observe := a.ManagementPolicy == iamv1.ManagementObserve
	header := "agency " + a.Name + ": policy " + string(a.ManagementPolicy)
	switch {
	case observe && a.Totals == nil:
		header += ", no plan reported yet"
	case observe:
		header += ", plan " + a.PlanHash
	}
	envs := int32(0)
	if a.Totals != nil {
		envs = a.Totals.EnvironmentsToRecord
	}
	if len(a.Users) == 0 && envs == 0 && a.HeldRevocations == nil {
		if !observe || a.Totals != nil {
			header += ", no changes"
		}
		b.WriteString(header + "\n")
		return
	}
	b.WriteString(header + "\n")
	for _, u := range a.Users {
		writeUserPlan(b, a.Name, u)
	}
	if envs > 0 {
		fmt.Fprintf(b, "  %s %d environments to record in the Studio\n", markAdd, envs)
	}
	if h := a.HeldRevocations; h != nil {
		fmt.Fprintf(b, "  %d revocations held, plan %s\n", h.Users, h.PlanHash)
		for _, u := range h.Held {
			fmt.Fprintf(b, "      %s %s: %s\n", markRemove, u.Name, u.Why)
		}
		fmt.Fprintf(b, "  To let exactly these through: kubectl studio approve %s\n", a.Name)
	}
}

// writeUserPlan prints the part of u's plan that concerns agency.
func writeUserPlan(b *strings.Builder, agency string, u UserPlanView) {
	p, ok := planIn(u.Plan, map[string]bool{agency: true})
	if !ok {
		return
	}
	mark, what := markChange, ""
	switch p.Record {
	case iamv1.PlannedCreate:
		mark, what = markAdd, " (create)"
	case iamv1.PlannedAdopt:
		what = " (adopt)"
	case iamv1.PlannedUpdate:
		what = " (update)"
	}
	fmt.Fprintf(b, "  %s %s%s\n", mark, u.Name, what)
	line := func(mark, text string) { fmt.Fprintf(b, "      %s %s\n", mark, text) }
	for _, f := range p.Profile {
		line(markChange, fmt.Sprintf("%s: %s → %s", f.Field, strconv.Quote(f.From), strconv.Quote(f.To)))
	}
	for _, g := range p.Grants {
		where := "agency " + g.Agency
		if g.Environment != "" {
			where = "environment " + g.Environment
		}
		for _, r := range g.Add {
			line(markAdd, string(r)+" in "+where)
		}
		for _, r := range g.Remove {
			line(markRemove, string(r)+" in "+where)
		}
		if g.Block {
			line(markRemove, "roles inherited from agency "+g.Agency+" in "+where+" (block)")
		}
		if g.Unblock {
			line(markAdd, "roles inherited from agency "+g.Agency+" in "+where+" (unblock)")
		}
	}
	if p.Invitation {
		line(markAdd, "invitation email")
	}
}
