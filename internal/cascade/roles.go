package cascade

import (
	"fmt"
	"slices"
	"strings"
)

// Role is a Studio role as written in manifests and in the store's API.
type Role string

// The Studio roles.
const (
	Agent               Role = "Agent"
	Operator            Role = "Operator"
	ContentManager      Role = "ContentManager"
	Analyst             Role = "Analyst"
	Developer           Role = "Developer"
	Producer            Role = "Producer"
	Planner             Role = "Planner"
	EnvironmentManager  Role = "EnvironmentManager"
	OrganisationManager Role = "OrganisationManager"
	Administrator       Role = "Administrator"
	// Supervisor exists in the Studio but cannot be assigned.
	Supervisor Role = "Supervisor"
)

// Capability is one thing a role lets a user do.
type Capability string

// The Studio capabilities.
const (
	InboxReply         Capability = "inbox.reply"
	InboxStart         Capability = "inbox.start"
	InboxHistory       Capability = "inbox.history"
	CRMRead            Capability = "crm.read"
	CRMWrite           Capability = "crm.write"
	Notify             Capability = "notify"
	CMSWrite           Capability = "cms.write"
	AnalyticsRead      Capability = "analytics.read"
	BotsDevelop        Capability = "bots.develop"
	BackupsManage      Capability = "backups.manage"
	SettingsWrite      Capability = "settings.write"
	PlanningWrite      Capability = "planning.write"
	UsersManage        Capability = "users.manage"
	EnvironmentsManage Capability = "environments.manage"
)

// AllCapabilities lists every capability, sorted.
var AllCapabilities = sortedCapabilities([]Capability{
	InboxReply, InboxStart, InboxHistory, CRMRead, CRMWrite, Notify, CMSWrite,
	AnalyticsRead, BotsDevelop, BackupsManage, SettingsWrite, PlanningWrite,
	UsersManage, EnvironmentsManage,
})

// roleCapabilities is the role table of docs/architecture.md ("Roles and the cascade").
var roleCapabilities = map[Role][]Capability{
	Agent:               {InboxReply, Notify},
	Operator:            {InboxReply, InboxStart, InboxHistory, CRMRead, CRMWrite, Notify},
	ContentManager:      {CMSWrite},
	Analyst:             {AnalyticsRead, CRMRead},
	Developer:           {BotsDevelop, BackupsManage},
	Producer:            {SettingsWrite, CRMRead, CRMWrite, CMSWrite, AnalyticsRead, BackupsManage},
	Planner:             {PlanningWrite},
	EnvironmentManager:  {UsersManage, SettingsWrite},
	OrganisationManager: {EnvironmentsManage, UsersManage},
	Administrator:       AllCapabilities,
}

// AssignableRoles lists the roles that may be granted, sorted.
var AssignableRoles = func() []Role {
	out := make([]Role, 0, len(roleCapabilities))
	for r := range roleCapabilities {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}()

// Known reports whether r is a Studio role (assignable or not).
func (r Role) Known() bool {
	_, ok := roleCapabilities[r]
	return ok || r == Supervisor
}

// Assignable reports whether r may be granted.
func (r Role) Assignable() bool {
	_, ok := roleCapabilities[r]
	return ok
}

// AgentRole reports whether r is one of the roles an Agent-type user may hold.
func (r Role) AgentRole() bool { return r == Agent || r == Operator }

// CapabilitiesOf returns the capabilities of role r, sorted; nil for unknown roles.
func CapabilitiesOf(r Role) []Capability {
	// The table is written in the order of that table; callers (printers, diffs) rely on
	// the documented sorted order.
	return sortedCapabilities(roleCapabilities[r])
}

// ScopeKind is the kind of scope a grant applies at.
type ScopeKind string

const (
	// ScopeAgency: the grant ripples down to every environment of the agency.
	ScopeAgency ScopeKind = "agency"
	// ScopeEnvironment: the grant applies to one environment and overwrites the agency's.
	ScopeEnvironment ScopeKind = "environment"
)

// ValidationError says which rule a role list breaks.
type ValidationError struct {
	// Field is the offending field, relative to the grant: "roles" or "roles[i]".
	Field string
	// Rule says what is wrong, for people.
	Rule string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Rule }

// ValidateRoles checks a grant's role list against the rules every writer must honour:
// known roles only, no Supervisor, no duplicates, OrganisationManager only at agency
// scope, and a non-empty list at agency scope (an empty list only means something at
// environment scope, where it blocks inherited roles).
func ValidateRoles(kind ScopeKind, roles []Role) error {
	if kind == ScopeAgency && len(roles) == 0 {
		return &ValidationError{Field: "roles", Rule: "must not be empty at agency scope"}
	}
	seen := make(map[Role]bool, len(roles))
	for i, r := range roles {
		field := fmt.Sprintf("roles[%d]", i)
		switch {
		case r == Supervisor:
			return &ValidationError{Field: field, Rule: "Supervisor exists in the Studio but is not assignable"}
		case !r.Assignable():
			return &ValidationError{Field: field, Rule: fmt.Sprintf("unknown role %q; known roles: %s", r, joinRoles(AssignableRoles))}
		case seen[r]:
			return &ValidationError{Field: field, Rule: fmt.Sprintf("duplicate role %q", r)}
		case r == OrganisationManager && kind == ScopeEnvironment:
			return &ValidationError{Field: field, Rule: "OrganisationManager can only be granted at agency scope"}
		}
		seen[r] = true
	}
	return nil
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

func sortedCapabilities(cs []Capability) []Capability {
	out := slices.Clone(cs)
	slices.Sort(out)
	return slices.Compact(out)
}
