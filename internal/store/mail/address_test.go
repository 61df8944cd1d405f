package mail_test

import (
	"bytes"
	"strings"
	"testing"

	mailpkg "github.com/studio-operator/studio-operator/internal/store/mail"
)

// rawHeader returns the unfolded value of header name as it is on the wire.
func rawHeader(t *testing.T, msg []byte, name string) string {
	t.Helper()
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	var value string
	found := false
	for _, line := range strings.Split(string(head), "\r\n") {
		switch {
		case found && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
			value += line
		case found:
			return value
		case strings.HasPrefix(line, name+": "):
			value, found = strings.TrimPrefix(line, name+": "), true
		}
	}
	if !found {
		t.Fatalf("no %s header", name)
	}
	return value
}

// Addresses go into headers in ASCII wherever they can: the domain as A-labels
// (IDNA), display names as RFC 2047 encoded words. Only a local part that is not ASCII
// stays UTF-8 (RFC 6532), in NFC.
func TestComposeEncodesAddresses(t *testing.T) {
	for name, tc := range map[string]struct {
		from, to         string
		wantFrom, wantTo string
		want7bit         bool
	}{
		"unicode domain": {
			from: testFrom, to: "bob@b\u00fccher.example",
			wantFrom: `"Studio" <noreply@studio.example>`, wantTo: "<bob@xn--bcher-kva.example>", want7bit: true,
		},
		"unicode display name and domain in from": {
			from: "Studio Zo\u00eb <noreply@b\u00fccher.example>", to: "alice@example.com",
			wantFrom: "=?utf-8?q?Studio_Zo=C3=AB?= <noreply@xn--bcher-kva.example>", wantTo: "<alice@example.com>", want7bit: true,
		},
		"decomposed local part": {
			from: testFrom, to: "jose\u0301@B\u00fccher.example",
			wantFrom: `"Studio" <noreply@studio.example>`, wantTo: "<jos\u00e9@xn--bcher-kva.example>",
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := testOutboxMessage(t)
			m.To = tc.to
			out, err := mailpkg.Compose(tc.from, m, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := rawHeader(t, out, "From"); got != tc.wantFrom {
				t.Errorf("From: %q, want %q", got, tc.wantFrom)
			}
			if got := rawHeader(t, out, "To"); got != tc.wantTo {
				t.Errorf("To: %q, want %q", got, tc.wantTo)
			}
			if is7bit(out) != tc.want7bit {
				t.Errorf("message is 7-bit ASCII: %v, want %v", is7bit(out), tc.want7bit)
			}
		})
	}
}

// The envelope uses the same forms: an internationalised domain needs no SMTPUTF8,
// a local part that is not ASCII needs it, and a server without it refuses for good.
func TestSMTPEnvelopeOfInternationalAddresses(t *testing.T) {
	for name, tc := range map[string]struct {
		to       string
		smtpUTF8 bool
		wantRcpt string
		refused  bool
	}{
		"unicode domain, plain server":     {to: "bob@b\u00fccher.example", wantRcpt: "bob@xn--bcher-kva.example"},
		"unicode local part":               {to: "jose\u0301@example.com", smtpUTF8: true, wantRcpt: "jos\u00e9@example.com"},
		"unicode local part, plain server": {to: "jos\u00e9@example.com", refused: true},
	} {
		t.Run(name, func(t *testing.T) {
			clock, logs := newTestClock(), &logBuffer{}
			st := newTestStore(t, clock.Now)
			st.invite(t, "bob", tc.to, "en")
			srv := startSMTPServer(t, smtpServerOptions{insecureAuth: true, smtpUTF8: tc.smtpUTF8})
			w, _, _ := newTestWorker(t, st, newSMTPSenderFor(t, "", srv), clock, logs, nil)
			deliverDue(t, w)
			got := srv.Received()
			if tc.refused {
				if len(got) != 0 {
					t.Fatalf("delivered %d messages to a server without SMTPUTF8", len(got))
				}
				err := newSMTPSenderFor(t, "", srv).Send(t.Context(), "", tc.to, []byte("Subject: x\r\n\r\nx\r\n"))
				if class := mailpkg.Classify(err); class != mailpkg.ClassPermanent {
					t.Errorf("sending to %q without SMTPUTF8: class %s (%v), want %s", tc.to, class, err, mailpkg.ClassPermanent)
				}
				return
			}
			if len(got) != 1 || got[0].To != tc.wantRcpt {
				t.Fatalf("received %d messages, RCPT %q; want 1 to %q", len(got), firstTo(got), tc.wantRcpt)
			}
		})
	}
}

func firstTo(got []receivedMail) string {
	if len(got) == 0 {
		return ""
	}
	return got[0].To
}
