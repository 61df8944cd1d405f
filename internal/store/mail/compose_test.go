package mail_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
	mailpkg "github.com/studio-operator/studio-operator/internal/store/mail"
)

func TestCompose(t *testing.T) {
	base := testOutboxMessage(t)
	cases := map[string]struct {
		edit        func(*store.OutboxMessage)
		wantSubject string
		wantParts   []string
		wantHeaders map[string]string
	}{
		"invitation": {
			wantSubject: base.Subject,
			wantParts:   []string{"text/html", "text/plain"},
			wantHeaders: map[string]string{
				"From":                      `"Studio" <noreply@studio.example>`,
				"To":                        "<alice@example.com>",
				"Message-Id":                "<inv-7.abc@studio.example>",
				"Date":                      "Fri, 02 Jan 2026 10:04:05 +0000",
				"Mime-Version":              "1.0",
				"Auto-Submitted":            "auto-generated",
				"Content-Transfer-Encoding": "",
			},
		},
		"message id without brackets": {
			edit:        func(m *store.OutboxMessage) { m.MessageID = "inv-7.abc@studio.example" },
			wantSubject: base.Subject,
			wantParts:   []string{"text/html", "text/plain"},
			wantHeaders: map[string]string{"Message-Id": "<inv-7.abc@studio.example>"},
		},
		"text only": {
			edit:        func(m *store.OutboxMessage) { m.HTML = "" },
			wantSubject: base.Subject,
			wantParts:   []string{"text/plain"},
			wantHeaders: map[string]string{"Content-Transfer-Encoding": "quoted-printable"},
		},
		"non-ascii subject is RFC 2047 encoded": {
			edit:        func(m *store.OutboxMessage) { m.Subject = "Uitnodiging van Café Zoë — één klik" },
			wantSubject: "Uitnodiging van Café Zoë — één klik",
			wantParts:   []string{"text/html", "text/plain"},
		},
		"header injection in subject stays in the subject": {
			edit:        func(m *store.OutboxMessage) { m.Subject = "Hi\r\nBcc: all@example.com\nX: y" },
			wantSubject: "Hi Bcc: all@example.com X: y",
			wantParts:   []string{"text/html", "text/plain"},
			wantHeaders: map[string]string{"Bcc": "", "X": ""},
		},
		"long subject is folded and capped": {
			edit:        func(m *store.OutboxMessage) { m.Subject = strings.Repeat("ä", 300) },
			wantSubject: strings.Repeat("ä", mailpkg.MaxSubjectRunes-1) + "…",
			wantParts:   []string{"text/html", "text/plain"},
		},
		"long unbreakable ascii subject": {
			edit:        func(m *store.OutboxMessage) { m.Subject = strings.Repeat("x", 200) },
			wantSubject: strings.Repeat("x", 200),
			wantParts:   []string{"text/html", "text/plain"},
		},
		"long lines and bare CRs in the body": {
			edit: func(m *store.OutboxMessage) {
				m.Text = strings.Repeat("y", 3000) + "\rnext\r\nlast"
				m.HTML = "<p>" + strings.Repeat("z", 2000) + "</p>"
			},
			wantSubject: base.Subject,
			wantParts:   []string{"text/html", "text/plain"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := base
			if tc.edit != nil {
				tc.edit(&m)
			}
			out, err := mailpkg.Compose(testFrom, m, testNow)
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			got := parseMessage(t, out)
			if diff := cmp.Diff(tc.wantSubject, got.Subject); diff != "" {
				t.Errorf("subject (-want +got):\n%s", diff)
			}
			if !is7bit(out) {
				t.Errorf("message is not 7-bit printable ASCII")
			}
			for k, want := range tc.wantHeaders {
				if diff := cmp.Diff(want, got.Header.Get(k)); diff != "" {
					t.Errorf("header %s (-want +got):\n%s", k, diff)
				}
			}
			var parts []string
			for k := range got.Parts {
				parts = append(parts, k)
			}
			if diff := cmp.Diff(tc.wantParts, parts, sortStrings); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wireBody(m.Text), got.Parts["text/plain"]); diff != "" {
				t.Errorf("text part (-want +got):\n%s", diff)
			}
			if m.HTML != "" {
				if diff := cmp.Diff(wireBody(m.HTML), got.Parts["text/html"]); diff != "" {
					t.Errorf("html part (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestComposeKeepsTheLinkIntact(t *testing.T) {
	m := testOutboxMessage(t)
	out, err := mailpkg.Compose(testFrom, m, testNow)
	if err != nil {
		t.Fatal(err)
	}
	got := parseMessage(t, out)
	if !strings.Contains(got.Parts["text/plain"], "\r\n"+testLink+"\r\n") {
		t.Errorf("decoded text part lacks the link on its own line")
	}
	if !strings.Contains(got.Parts["text/html"], `href="`+testLink+`"`) {
		t.Errorf("decoded html part lacks the link target")
	}
}

func TestComposeIsDeterministic(t *testing.T) {
	m := testOutboxMessage(t)
	a, err := mailpkg.Compose(testFrom, m, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mailpkg.Compose(testFrom, m, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("composing the same message twice gave different bytes")
	}
}

func TestComposeRefuses(t *testing.T) {
	cases := map[string]struct {
		from string
		edit func(*store.OutboxMessage)
		want error
	}{
		"bad from":             {from: "not an address", want: mailpkg.ErrBadFrom},
		"bad to":               {edit: func(m *store.OutboxMessage) { m.To = "alice" }, want: mailpkg.ErrBadTo},
		"no message id":        {edit: func(m *store.OutboxMessage) { m.MessageID = "" }, want: mailpkg.ErrNoMessageID},
		"message id no at":     {edit: func(m *store.OutboxMessage) { m.MessageID = "<abc>" }, want: mailpkg.ErrBadMessageID},
		"message id injection": {edit: func(m *store.OutboxMessage) { m.MessageID = "<a@b>\r\nBcc: x@y" }, want: mailpkg.ErrBadMessageID},
		"no body":              {edit: func(m *store.OutboxMessage) { m.Text = "" }, want: mailpkg.ErrNoBody},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := testOutboxMessage(t)
			if tc.edit != nil {
				tc.edit(&m)
			}
			from := tc.from
			if from == "" {
				from = testFrom
			}
			_, err := mailpkg.Compose(from, m, testNow)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "alice") || strings.Contains(err.Error(), "noreply") {
				t.Errorf("error %q echoes an address", err)
			}
		})
	}
}
