package planner

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// AgencyOf maps a grant's scope to its agency ("" when unknown).
type AgencyOf func(store.Scope) string

// Agencies returns the agencies grants are in, sorted and without "".
func Agencies(agencyOf AgencyOf, sets ...[]store.Grant) []string {
	var out []string
	for _, gs := range sets {
		for _, g := range gs {
			if a := agencyOf(g.Scope); a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// HoldObserved is want with every scope in an observed agency as held has it: the
// grants Full would write there are left out and the store's kept, so a write of the
// result changes nothing in those agencies. The result is in the store's order.
func HoldObserved(held, want []store.Grant, agencyOf AgencyOf, observed map[string]bool) []store.Grant {
	out := make([]store.Grant, 0, len(want))
	for _, g := range want {
		if !observed[agencyOf(g.Scope)] {
			out = append(out, g)
		}
	}
	for _, g := range held {
		if observed[agencyOf(g.Scope)] {
			out = append(out, g)
		}
	}
	return NormalizeGrants(out)
}

// GrantChanges lists, scope by scope, what replacing held by want changes in the
// observed agencies: roles added and removed, and environment blocks (a grant with no
// roles) written or deleted. Sorted by agency, then agency scope first, then
// environment. Environments are shown as <namespace>/<name>.
func GrantChanges(held, want []store.Grant, agencyOf AgencyOf, observed map[string]bool) []iamv1.GrantChange {
	type entry struct {
		roles []cascade.Role
		ok    bool
	}
	scopes := map[store.Scope][2]entry{}
	for i, gs := range [][]store.Grant{held, want} {
		for _, g := range gs {
			if !observed[agencyOf(g.Scope)] {
				continue
			}
			e := scopes[g.Scope]
			e[i] = entry{roles: g.Roles, ok: true}
			scopes[g.Scope] = e
		}
	}
	var out []iamv1.GrantChange
	for sc, e := range scopes {
		c := iamv1.GrantChange{
			Agency: agencyOf(sc), Environment: EnvironmentRefOfKey(sc.Environment),
			Add: roleDiff(e[1].roles, e[0].roles), Remove: roleDiff(e[0].roles, e[1].roles),
		}
		if sc.Environment != "" {
			c.Block = e[1].ok && len(e[1].roles) == 0 && !(e[0].ok && len(e[0].roles) == 0)
			c.Unblock = e[0].ok && len(e[0].roles) == 0 && !(e[1].ok && len(e[1].roles) == 0)
		}
		if len(c.Add) > 0 || len(c.Remove) > 0 || c.Block || c.Unblock {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b iamv1.GrantChange) int {
		return cmp.Or(cmp.Compare(a.Agency, b.Agency), cmp.Compare(a.Environment, b.Environment))
	})
	return out
}

// roleDiff: the roles of a not in b, sorted.
func roleDiff(a, b []cascade.Role) []iamv1.Role {
	var out []iamv1.Role
	for _, r := range a {
		if !slices.Contains(b, r) {
			out = append(out, APIRole(r))
		}
	}
	slices.Sort(out)
	return out
}

// EnvironmentRefOfKey turns a store environment key "<namespace>.<name>" back into
// "<namespace>/<name>" (a namespace has no dots); "" stays "".
func EnvironmentRefOfKey(key string) string { return strings.Replace(key, ".", "/", 1) }

// ProfileChange says what Full would do with the user's record: nothing, create it,
// adopt it (a record no operator manages) or update it, and which fields differ.
// stored is nil when the store has no such user.
func ProfileChange(want store.UserSpec, stored *store.User, manager string) (iamv1.PlannedRecord, []iamv1.FieldChange) {
	if stored == nil {
		return iamv1.PlannedCreate, nil
	}
	if ProfileInSync(want, *stored, manager) {
		return "", nil
	}
	have := stored.Spec()
	var fields []iamv1.FieldChange
	add := func(field, from, to string) {
		if from != to {
			fields = append(fields, iamv1.FieldChange{Field: field, From: from, To: to})
		}
	}
	if !strings.EqualFold(have.Email, want.Email) {
		add("email", have.Email, want.Email)
	}
	add("displayName", have.DisplayName, want.DisplayName)
	add("type", string(have.Type), string(want.Type))
	add("locale", have.Locale, want.Locale)
	add("suspended", strconv.FormatBool(have.Suspended), strconv.FormatBool(want.Suspended))
	if stored.State == store.UserRemoved {
		add("state", string(stored.State), "Invited or Active")
	}
	slices.SortFunc(fields, func(a, b iamv1.FieldChange) int { return cmp.Compare(a.Field, b.Field) })
	if stored.ManagedBy == "" {
		return iamv1.PlannedAdopt, fields
	}
	return iamv1.PlannedUpdate, fields
}

// PlanEmpty reports whether p would change nothing.
func PlanEmpty(p *iamv1.PlannedChanges) bool {
	return p == nil || (p.Record == "" && len(p.Profile) == 0 && len(p.Grants) == 0 && !p.Invitation)
}

// PlanHash identifies a set of user plans and environment records to write
// ("sha256:…"): the same plans, in any order, give the same hash.
func PlanHash(plans map[string]*iamv1.PlannedChanges, environments []string) string {
	names := make([]string, 0, len(plans))
	for n := range plans {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		b, _ := json.Marshal(plans[n]) // plain structs: cannot fail
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	for _, e := range environments {
		h.Write([]byte("environment\x00" + e + "\n"))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// AgencyTotals adds up, for agency a, the user plans that cover it and the
// environments whose records Full would write (store keys).
func AgencyTotals(a string, plans map[string]*iamv1.PlannedChanges, environments []string) iamv1.AgencyPlan {
	t := iamv1.AgencyPlan{EnvironmentsToRecord: int32(len(environments))}
	mine := map[string]*iamv1.PlannedChanges{}
	for name, p := range plans {
		if p == nil || !slices.Contains(p.Agencies, a) || PlanEmpty(p) {
			continue
		}
		mine[name] = p
		switch p.Record {
		case iamv1.PlannedCreate:
			t.UsersToCreate++
		case iamv1.PlannedAdopt:
			t.RecordsToAdopt++
		}
		var adds, removes bool
		for _, g := range p.Grants {
			if g.Agency != a {
				continue
			}
			adds = adds || len(g.Add) > 0 || g.Unblock
			removes = removes || len(g.Remove) > 0 || g.Block
		}
		if p.Record != iamv1.PlannedCreate && (len(p.Profile) > 0 || adds) {
			t.UsersToUpdate++
		}
		if removes {
			t.UsersToRevoke++
		}
		if p.Invitation {
			t.InvitationsToSend++
		}
	}
	t.PlanHash = PlanHash(mine, environments)
	return t
}
