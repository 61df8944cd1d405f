package plugin

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
)

const (
	errUnknownRoleOrCapability = "unknown role or capability %q: roles are %s; capabilities are %s"
	errSupervisor              = "Supervisor exists in the Studio but is not assignable, so no StudioUser has it"
)

// Question is what who-can asks about: a role or a capability.
type Question struct {
	Role       cascade.Role       `json:"role,omitempty"`
	Capability cascade.Capability `json:"capability,omitempty"`
}

// ParseQuestion reads who-can's argument: a role as written in manifests (Analyst)
// or a capability (crm.read).
func ParseQuestion(arg string) (Question, error) {
	if r := cascade.Role(arg); r.Assignable() {
		return Question{Role: r}, nil
	}
	if cascade.Role(arg) == cascade.Supervisor {
		return Question{}, errors.New(errSupervisor)
	}
	if c := cascade.Capability(arg); slices.Contains(cascade.AllCapabilities, c) {
		return Question{Capability: c}, nil
	}
	return Question{}, fmt.Errorf(errUnknownRoleOrCapability, arg, joinOrNone(cascade.AssignableRoles), joinOrNone(cascade.AllCapabilities))
}

// WhoCanEntry is one user who has the role or capability.
type WhoCanEntry struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Roles    []string `json:"roles"`
	Source   string   `json:"source"`
	Bindings []string `json:"bindings,omitempty"`
}

// WhoCanView is what who-can prints.
type WhoCanView struct {
	Environment string        `json:"environment"`
	Question    Question      `json:"question"`
	Users       []WhoCanEntry `json:"users"`
}

// WhoCan lists the users that have q in env ("ns/name") according to their status,
// sorted by name.
func WhoCan(users []iamv1.StudioUser, q Question, env string) []WhoCanEntry {
	out := []WhoCanEntry{}
	for i := range users {
		u := &users[i]
		for _, a := range AccessFromStatus(u) {
			if a.Environment != env || !answers(a, q) {
				continue
			}
			out = append(out, WhoCanEntry{
				Name:     u.Name,
				Type:     string(cmp.Or(u.Spec.Type, iamv1.UserTypeUser)),
				Roles:    a.Roles,
				Source:   a.Source,
				Bindings: a.Bindings,
			})
		}
	}
	slices.SortFunc(out, func(a, b WhoCanEntry) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func answers(a AccessEntry, q Question) bool {
	if q.Role != "" {
		return slices.Contains(a.Roles, string(q.Role))
	}
	return slices.Contains(a.Capabilities, string(q.Capability))
}

// WhoCanTable shows one row per user.
func WhoCanTable(entries []WhoCanEntry) Table {
	t := Table{Header: []string{"NAME", "TYPE", "ROLES", "SOURCE", "BINDINGS"}}
	for _, e := range entries {
		t.Rows = append(t.Rows, []string{e.Name, e.Type, joinOrNone(e.Roles), e.Source, joinOrNone(e.Bindings)})
	}
	return t
}

// String says what was asked, for messages.
func (q Question) String() string {
	if q.Role != "" {
		return "role " + string(q.Role)
	}
	return "capability " + string(q.Capability)
}
