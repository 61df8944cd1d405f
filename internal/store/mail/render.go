package mail

import (
	"errors"
	"fmt"
	"html/template"
	"strings"
	"unicode"
)

// Rendering errors.
var (
	errNoRecipient = errors.New("invitation email needs a recipient")
	errNoLink      = errors.New("invitation email needs a link")
)

// maxNameRunes caps display names and environment names in an email: they come from
// manifests, and a subject line must stay readable (and short enough to fold).
const maxNameRunes = 120

// RenderInvitation renders the invitation email: a subject, a plain-text body and an
// HTML alternative with the same content, in the language of d.Locale. It is pure.
//
// Names from d are cleaned of control characters (no header or line injection) and
// HTML-escaped in the HTML body; the link appears once in the text body and, in the
// HTML body, once as the button's target and once as copyable text.
func RenderInvitation(d InvitationData) (Rendered, error) {
	if strings.TrimSpace(d.To) == "" {
		return Rendered{}, errNoRecipient
	}
	if strings.TrimSpace(d.Link) == "" {
		return Rendered{}, errNoLink
	}
	v := newInvitationView(d)
	var html strings.Builder
	if err := invitationHTML.Execute(&html, v); err != nil {
		return Rendered{}, fmt.Errorf("render invitation html: %w", err)
	}
	return Rendered{Subject: v.Subject, Text: v.text(), HTML: html.String()}, nil
}

// invitationView is the invitation with every sentence already in its language, so the
// text and HTML bodies cannot drift apart.
type invitationView struct {
	Lang          string
	Subject       string
	Greeting      string
	Invited       string
	AccessHeading string
	Access        []accessLine
	AcceptLead    string
	AcceptButton  string
	CopyHint      string
	Link          string
	Expires       string // empty when there is no expiry
	Ignore        string
}

type accessLine struct {
	Environment string
	Roles       string // "Agent, Content Manager"; empty when no roles are listed
}

func newInvitationView(d InvitationData) invitationView {
	c := catalogFor(d.Locale)
	var agencies []string
	for _, a := range d.Agencies {
		if a = cleanName(a); a != "" {
			agencies = append(agencies, a)
		}
	}
	v := invitationView{
		Lang:          c.lang,
		Subject:       c.subjectNoAgency,
		Greeting:      c.greeting,
		Invited:       c.invitedNoAgency,
		AccessHeading: c.accessHeading,
		AcceptLead:    c.acceptLead,
		AcceptButton:  c.acceptButton,
		CopyHint:      c.copyHint,
		Link:          strings.TrimSpace(d.Link),
		Ignore:        c.ignore,
	}
	if names := c.joinNames(agencies); names != "" {
		v.Subject = fmt.Sprintf(c.subjectAgency, names)
		v.Invited = fmt.Sprintf(c.invitedAgency, names)
	}
	if name := cleanName(d.DisplayName); name != "" {
		v.Greeting = fmt.Sprintf(c.greetingName, name)
	}
	for _, e := range d.Environments {
		env := cleanName(e.Environment)
		if env == "" {
			continue
		}
		roles := make([]string, 0, len(e.Roles))
		for _, r := range e.Roles {
			if r = cleanName(r); r != "" {
				roles = append(roles, roleLabel(r))
			}
		}
		v.Access = append(v.Access, accessLine{Environment: env, Roles: strings.Join(roles, ", ")})
	}
	if !d.ExpiresAt.IsZero() {
		v.Expires = fmt.Sprintf(c.expires, c.formatExpiry(d.ExpiresAt))
	}
	return v
}

// text is the plain-text body. The link stands alone on its line so that mail
// clients make it clickable and copying it takes nothing else along.
func (v invitationView) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n\n", v.Greeting, v.Invited)
	if len(v.Access) > 0 {
		b.WriteString(v.AccessHeading + "\n")
		for _, a := range v.Access {
			b.WriteString("  - " + a.Environment)
			if a.Roles != "" {
				b.WriteString(": " + a.Roles)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%s\n%s\n\n", v.AcceptLead, v.Link)
	if v.Expires != "" {
		b.WriteString(v.Expires + "\n\n")
	}
	b.WriteString(v.Ignore + "\n")
	return b.String()
}

// invitationHTML is the HTML alternative: semantic markup (lang, a heading, a list,
// a descriptive link text), inline styles only (mail clients drop <style>), colours
// with enough contrast, and the link repeated as text for clients that block buttons.
var invitationHTML = template.Must(template.New("invitation").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:24px;background:#ffffff;color:#1a1a1a;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;">
<main>
<p>{{.Greeting}}</p>
<p>{{.Invited}}</p>
{{- if .Access}}
<h2 style="font-size:18px;margin:24px 0 8px;">{{.AccessHeading}}</h2>
<ul>
{{- range .Access}}
<li><strong>{{.Environment}}</strong>{{if .Roles}}: {{.Roles}}{{end}}</li>
{{- end}}
</ul>
{{- end}}
<p>{{.AcceptLead}}</p>
<p><a href="{{.Link}}" style="display:inline-block;padding:12px 20px;background:#0b57a4;color:#ffffff;text-decoration:underline;border-radius:4px;font-weight:bold;">{{.AcceptButton}}</a></p>
<p>{{.CopyHint}}<br><span style="word-break:break-all;">{{.Link}}</span></p>
{{- if .Expires}}
<p>{{.Expires}}</p>
{{- end}}
<p style="color:#4d4d4d;">{{.Ignore}}</p>
</main>
</body>
</html>
`))

// cleanName makes a name safe for a header and a text line: control characters
// (CR, LF, tabs...) become spaces, runs of spaces collapse, and it is capped at
// maxNameRunes.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxNameRunes {
		s = strings.TrimSpace(string(r[:maxNameRunes-1])) + "…"
	}
	return s
}

// roleLabel spells a role as people read it: "ContentManager" → "Content Manager".
func roleLabel(role string) string {
	var b strings.Builder
	rs := []rune(role)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && unicode.IsLower(rs[i-1]) {
			b.WriteRune(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
