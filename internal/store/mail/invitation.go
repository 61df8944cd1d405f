package mail

import "time"

// InvitationData is what an invitation email says. Link is a secret: it goes into the
// email body and nowhere else (no logs).
type InvitationData struct {
	To          string
	DisplayName string
	// Locale selects the language: "nl" (or nl-NL, nl_BE...) for Dutch, anything else
	// for English.
	Locale string
	// Agencies are the display names of the agencies whose environments the user gets.
	Agencies []string
	// Environments lists the environments and roles, e.g. "Support bot: Agent, Operator".
	Environments []EnvironmentRoles
	Link         string
	// ExpiresAt is when the link stops working; it is shown in UTC. Zero leaves the
	// expiry sentence out.
	ExpiresAt time.Time
}

// EnvironmentRoles is one line of the invitation's access summary.
type EnvironmentRoles struct {
	Environment string
	Roles       []string
}

// Rendered is an email ready for the outbox.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}
