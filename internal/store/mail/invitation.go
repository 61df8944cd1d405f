package mail

import (
	"fmt"
	"strings"
	"time"
)

// InvitationData is what an invitation email says. Link is a secret: it goes into the
// email body and nowhere else (no logs).
type InvitationData struct {
	To          string
	DisplayName string
	Locale      string
	// Agencies are the display names of the agencies whose environments the user gets.
	Agencies []string
	// Environments lists the environments and roles, e.g. "Support bot: Agent, Operator".
	Environments []EnvironmentRoles
	Link         string
	ExpiresAt    time.Time
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

// RenderInvitation renders the invitation email. It is pure.
func RenderInvitation(d InvitationData) (Rendered, error) {
	if d.To == "" || d.Link == "" {
		return Rendered{}, fmt.Errorf("invitation email needs a recipient and a link")
	}
	agency := strings.Join(d.Agencies, ", ")
	if agency == "" {
		agency = "the Studio"
	}
	var b strings.Builder
	name := d.DisplayName
	if name == "" {
		name = d.To
	}
	fmt.Fprintf(&b, "Hello %s,\n\nYou have been invited to %s.\n\n", name, agency)
	if len(d.Environments) > 0 {
		b.WriteString("Your access:\n")
		for _, e := range d.Environments {
			fmt.Fprintf(&b, "  - %s: %s\n", e.Environment, strings.Join(e.Roles, ", "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Accept the invitation: %s\n\nThe link works until %s.\n", d.Link, d.ExpiresAt.UTC().Format(time.RFC1123))
	return Rendered{
		Subject: "You are invited to " + agency,
		Text:    b.String(),
	}, nil
}
