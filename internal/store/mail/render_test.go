package mail

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testLink = "https://studio.example/invite/tok_Abc-123"

var testExpiry = time.Date(2026, time.January, 9, 15, 30, 0, 0, time.FixedZone("CET", 3600))

func testInvitation() InvitationData {
	return InvitationData{
		To:          "alice@example.com",
		DisplayName: "Alice Jansen",
		Agencies:    []string{"Acme Support"},
		Environments: []EnvironmentRoles{
			{Environment: "Support bot", Roles: []string{"Agent", "Operator"}},
			{Environment: "Sales bot", Roles: []string{"ContentManager"}},
		},
		Link:      testLink,
		ExpiresAt: testExpiry,
	}
}

func TestRenderInvitation(t *testing.T) {
	cases := map[string]struct {
		edit        func(*InvitationData)
		subject     string
		textHas     []string
		htmlHas     []string
		textHasNot  []string
		htmlHasNot  []string
		wantHTMLTag string
	}{
		"english default": {
			subject: "Invitation to the Studio from Acme Support",
			textHas: []string{
				"Hello Alice Jansen,",
				"You have been invited to the Studio by Acme Support.",
				"Your access:\n  - Support bot: Agent, Operator\n  - Sales bot: Content Manager\n",
				"To accept the invitation, open this link:\n" + testLink + "\n",
				// 15:30 CET is 14:30 UTC: the expiry is converted, day and month spelled out.
				"The link works until Friday 9 January 2026 at 14:30 UTC (2026-01-09T14:30:00Z).",
			},
			htmlHas: []string{
				`<html lang="en">`,
				"<title>Invitation to the Studio from Acme Support</title>",
				"<li><strong>Support bot</strong>: Agent, Operator</li>",
				">Accept the invitation</a>",
				"Friday 9 January 2026 at 14:30 UTC",
			},
		},
		"dutch": {
			edit:    func(d *InvitationData) { d.Locale = "nl" },
			subject: "Uitnodiging voor de Studio van Acme Support",
			textHas: []string{
				"Hallo Alice Jansen,",
				"Je bent door Acme Support uitgenodigd voor de Studio.",
				"Je toegang:\n  - Support bot: Agent, Operator\n",
				"De link werkt tot vrijdag 9 januari 2026 om 14:30 UTC (2026-01-09T14:30:00Z).",
			},
			htmlHas:    []string{`<html lang="nl">`, ">Uitnodiging accepteren</a>"},
			textHasNot: []string{"Hello", "invited"},
		},
		"dutch regional variant": {
			edit:    func(d *InvitationData) { d.Locale = "nl_BE" },
			subject: "Uitnodiging voor de Studio van Acme Support",
		},
		"unknown locale falls back to english": {
			edit:    func(d *InvitationData) { d.Locale = "xx-YY" },
			subject: "Invitation to the Studio from Acme Support",
			htmlHas: []string{`<html lang="en">`},
		},
		"several agencies, no name, no expiry": {
			edit: func(d *InvitationData) {
				d.DisplayName = ""
				d.Agencies = []string{"Acme", "Beta", "Gamma"}
				d.ExpiresAt = time.Time{}
			},
			subject:    "Invitation to the Studio from Acme, Beta and Gamma",
			textHas:    []string{"Hello,\n"},
			textHasNot: []string{"works until", "alice@example.com"},
			htmlHasNot: []string{"works until"},
		},
		"no agency, no environments": {
			edit: func(d *InvitationData) {
				d.Agencies = nil
				d.Environments = nil
			},
			subject:    "You are invited to the Studio",
			textHas:    []string{"You have been invited to the Studio.\n"},
			textHasNot: []string{"Your access"},
			htmlHasNot: []string{"<ul>", "Your access"},
		},
		"hostile names are escaped and cannot inject lines": {
			edit: func(d *InvitationData) {
				d.DisplayName = `<script>alert("x")</script>`
				d.Agencies = []string{"Evil\r\nBcc: all@example.com"}
				d.Environments = []EnvironmentRoles{{Environment: `<img src=x onerror=alert(1)>`, Roles: []string{"Agent"}}}
			},
			subject: "Invitation to the Studio from Evil Bcc: all@example.com",
			textHas: []string{`Hello <script>alert("x")</script>,`},
			htmlHas: []string{
				"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
				"&lt;img src=x onerror=alert(1)&gt;",
			},
			htmlHasNot: []string{"<script>", "<img", "\r"},
			textHasNot: []string{"\r"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := testInvitation()
			if tc.edit != nil {
				tc.edit(&d)
			}
			got, err := RenderInvitation(d)
			if err != nil {
				t.Fatalf("RenderInvitation: %v", err)
			}
			if diff := cmp.Diff(tc.subject, got.Subject); diff != "" {
				t.Errorf("subject (-want +got):\n%s", diff)
			}
			for _, s := range tc.textHas {
				if !strings.Contains(got.Text, s) {
					t.Errorf("text body lacks %q; body:\n%s", s, got.Text)
				}
			}
			for _, s := range tc.textHasNot {
				if strings.Contains(got.Text, s) {
					t.Errorf("text body has %q", s)
				}
			}
			for _, s := range tc.htmlHas {
				if !strings.Contains(got.HTML, s) {
					t.Errorf("html body lacks %q; body:\n%s", s, got.HTML)
				}
			}
			for _, s := range tc.htmlHasNot {
				if strings.Contains(got.HTML, s) {
					t.Errorf("html body has %q", s)
				}
			}
			assertLinkPlacement(t, got)
		})
	}
}

// assertLinkPlacement checks the link appears exactly where it belongs: alone on one
// line of the text body; in the HTML body as the only anchor's target and once as text.
func assertLinkPlacement(t *testing.T, r Rendered) {
	t.Helper()
	if n := strings.Count(r.Text, testLink); n != 1 {
		t.Errorf("text body has the link %d times, want 1", n)
	}
	var alone int
	for _, line := range strings.Split(r.Text, "\n") {
		if line == testLink {
			alone++
		}
	}
	if alone != 1 {
		t.Errorf("text body has the link alone on %d lines, want 1", alone)
	}
	if n := strings.Count(r.HTML, testLink); n != 2 {
		t.Errorf("html body has the link %d times, want 2", n)
	}
	if n := strings.Count(r.HTML, "<a "); n != 1 {
		t.Errorf("html body has %d anchors, want 1", n)
	}
	if !strings.Contains(r.HTML, `<a href="`+testLink+`"`) {
		t.Errorf("html anchor does not target the link")
	}
	if strings.Contains(r.Subject, testLink) {
		t.Errorf("subject holds the link")
	}
}

func TestRenderInvitationRefusesIncompleteData(t *testing.T) {
	cases := map[string]struct {
		edit func(*InvitationData)
		want error
	}{
		"no recipient": {edit: func(d *InvitationData) { d.To = " " }, want: errNoRecipient},
		"no link":      {edit: func(d *InvitationData) { d.Link = "" }, want: errNoLink},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := testInvitation()
			tc.edit(&d)
			if _, err := RenderInvitation(d); err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRenderInvitationNeutralisesScriptLinks(t *testing.T) {
	d := testInvitation()
	d.Link = "javascript:alert(1)"
	got, err := RenderInvitation(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.HTML, `href="javascript:`) {
		t.Errorf("html anchor kept a javascript: link")
	}
}

func TestCleanName(t *testing.T) {
	long := strings.Repeat("é", maxNameRunes+10)
	cases := map[string]struct{ in, want string }{
		"plain":          {in: "Acme", want: "Acme"},
		"newlines":       {in: "A\r\nB\tC", want: "A B C"},
		"line separator": {in: "A\u2028B", want: "A B"},
		"trimmed":        {in: "  A   B  ", want: "A B"},
		"capped":         {in: long, want: strings.Repeat("é", maxNameRunes-1) + "…"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, cleanName(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoleLabel(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"single word":  {in: "Agent", want: "Agent"},
		"two words":    {in: "ContentManager", want: "Content Manager"},
		"organisation": {in: "OrganisationManager", want: "Organisation Manager"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, roleLabel(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
