package mail_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	mailpkg "github.com/studio-operator/studio-operator/internal/store/mail"
)

const testPassword = "s3cret-pa55"

// smtpURL builds the --smtp-url for a test server.
func smtpURL(scheme, host, port, user, pass, query string) string {
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), RawQuery: query}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

func TestSMTPSenderDelivers(t *testing.T) {
	cases := map[string]struct {
		server   smtpServerOptions
		scheme   string
		host     string // defaults to 127.0.0.1
		user     string
		query    string
		trustCA  bool
		wantTLS  bool
		wantAuth string
	}{
		"plain text when STARTTLS is not offered": {
			server: smtpServerOptions{tls: tlsNone},
		},
		"STARTTLS when offered, certificate verified": {
			server: smtpServerOptions{tls: tlsStartTLS}, trustCA: true, wantTLS: true,
		},
		"STARTTLS by host name": {
			server: smtpServerOptions{tls: tlsStartTLS}, host: "localhost", trustCA: true, wantTLS: true,
		},
		"STARTTLS with insecure-skip-verify": {
			server: smtpServerOptions{tls: tlsStartTLS}, query: "insecure-skip-verify=true", wantTLS: true,
		},
		"implicit TLS (smtps)": {
			server: smtpServerOptions{tls: tlsImplicit}, scheme: "smtps", trustCA: true, wantTLS: true,
		},
		"AUTH PLAIN after STARTTLS": {
			server: smtpServerOptions{tls: tlsStartTLS, user: "relay", pass: testPassword},
			user:   "relay", trustCA: true, wantTLS: true, wantAuth: "relay",
		},
		"AUTH PLAIN over smtps": {
			server: smtpServerOptions{tls: tlsImplicit, user: "relay", pass: testPassword},
			scheme: "smtps", user: "relay", trustCA: true, wantTLS: true, wantAuth: "relay",
		},
		"AUTH PLAIN in plain text to loopback": {
			server: smtpServerOptions{tls: tlsNone, user: "relay", pass: testPassword, insecureAuth: true},
			user:   "relay", wantAuth: "relay",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := startSMTPServer(t, tc.server)
			scheme, host := tc.scheme, tc.host
			if scheme == "" {
				scheme = "smtp"
			}
			if host == "" {
				host = srv.Host
			}
			s, err := mailpkg.NewSMTPSender(smtpURL(scheme, host, srv.Port, tc.user, testPassword, tc.query), testFrom)
			if err != nil {
				t.Fatalf("NewSMTPSender: %v", err)
			}
			s.Timeout = 5 * time.Second
			if tc.trustCA {
				s.RootCAs = srv.RootCA
			}
			m := testOutboxMessage(t)
			msg, err := mailpkg.Compose(testFrom, m, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(t.Context(), "", m.To, msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Received()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			r := got[0]
			if r.From != "noreply@studio.example" || r.To != "alice@example.com" {
				t.Errorf("envelope from %q to %q", r.From, r.To)
			}
			if r.TLS != tc.wantTLS {
				t.Errorf("TLS = %v, want %v", r.TLS, tc.wantTLS)
			}
			if r.AuthUser != tc.wantAuth {
				t.Errorf("authenticated as %q, want %q", r.AuthUser, tc.wantAuth)
			}
			assertInvitationMail(t, r.Data, m.MessageID, testLink)
		})
	}
}

// assertInvitationMail checks a received invitation: it parses, carries the stable
// Message-ID, has a text and an HTML part, and both hold the link.
func assertInvitationMail(t *testing.T, data []byte, messageID, link string) {
	t.Helper()
	p := parseMessage(t, data)
	if got := p.Header.Get("Message-Id"); got != messageID {
		t.Errorf("Message-ID = %q, want %q", got, messageID)
	}
	if len(p.Parts) != 2 {
		t.Errorf("message has parts %v, want text/plain and text/html", p.Parts)
	}
	if !strings.Contains(p.Parts["text/plain"], "\r\n"+link+"\r\n") {
		t.Errorf("text part lacks the link on its own line")
	}
	if !strings.Contains(p.Parts["text/html"], `href="`+link+`"`) {
		t.Errorf("html part lacks the link as the anchor's target")
	}
}

func TestSMTPSenderFailures(t *testing.T) {
	rejectRecipient := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<alice@example.com>: no such user"}
	cases := map[string]struct {
		server    *smtpServerOptions // nil: nothing listens
		scheme    string
		user      string
		pass      string
		trustCA   bool
		wantClass mailpkg.ErrorClass
	}{
		"connection refused": {wantClass: mailpkg.ClassTemporary},
		"421 when the session starts": {
			server:    &smtpServerOptions{sessionReplies: []error{&smtp.SMTPError{Code: 421, Message: "busy"}}},
			wantClass: mailpkg.ClassTemporary,
		},
		"451 on DATA": {
			server:    &smtpServerOptions{dataReplies: []error{&smtp.SMTPError{Code: 451, Message: "greylisted"}}},
			wantClass: mailpkg.ClassTemporary,
		},
		"550 on DATA": {
			server:    &smtpServerOptions{dataReplies: []error{rejectRecipient}},
			wantClass: mailpkg.ClassPermanent,
		},
		"wrong password": {
			server: &smtpServerOptions{tls: tlsStartTLS, user: "relay", pass: "other"},
			user:   "relay", pass: testPassword, trustCA: true,
			wantClass: mailpkg.ClassPermanent,
		},
		"server requires AUTH we lack": {
			server:    &smtpServerOptions{tls: tlsStartTLS, user: "relay", pass: testPassword},
			trustCA:   true,
			wantClass: mailpkg.ClassPermanent,
		},
		"server offers no AUTH in plain text": {
			server: &smtpServerOptions{tls: tlsNone, user: "relay", pass: testPassword},
			user:   "relay", pass: testPassword,
			wantClass: mailpkg.ClassPermanent,
		},
		"untrusted certificate": {
			server:    &smtpServerOptions{tls: tlsStartTLS},
			wantClass: mailpkg.ClassPermanent,
		},
		"untrusted certificate, smtps": {
			server: &smtpServerOptions{tls: tlsImplicit}, scheme: "smtps",
			wantClass: mailpkg.ClassPermanent,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			host, port := "127.0.0.1", ""
			var srv *testSMTPServer
			if tc.server != nil {
				srv = startSMTPServer(t, *tc.server)
				port = srv.Port
			} else {
				_, port, _ = net.SplitHostPort(freeAddr(t))
			}
			scheme := tc.scheme
			if scheme == "" {
				scheme = "smtp"
			}
			s, err := mailpkg.NewSMTPSender(smtpURL(scheme, host, port, tc.user, tc.pass, ""), testFrom)
			if err != nil {
				t.Fatal(err)
			}
			s.Timeout = 5 * time.Second
			if tc.trustCA {
				s.RootCAs = srv.RootCA
			}
			m := testOutboxMessage(t)
			msg, err := mailpkg.Compose(testFrom, m, testNow)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(t.Context(), "", m.To, msg)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if got := mailpkg.Classify(err); got != tc.wantClass {
				t.Errorf("Classify(%v) = %q, want %q", err, got, tc.wantClass)
			}
			reason := mailpkg.Reason(err)
			for _, secret := range []string{testPassword, "alice@example.com", testLink} {
				if strings.Contains(reason, secret) {
					t.Errorf("Reason %q holds a secret or an address", reason)
				}
			}
			if srv != nil && len(srv.Received()) != 0 {
				t.Errorf("server accepted a message")
			}
		})
	}
}

// silentListener accepts connections and never says a word, like a firewall that
// lets the SYN through and drops everything else.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestSMTPSenderGivesUpOnASilentServer(t *testing.T) {
	host, port, _ := net.SplitHostPort(silentListener(t))
	cases := map[string]struct {
		timeout     time.Duration
		cancelAfter time.Duration // 0: never
	}{
		"command timeout":      {timeout: 200 * time.Millisecond},
		"context cancellation": {timeout: time.Minute, cancelAfter: 200 * time.Millisecond},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := mailpkg.NewSMTPSender(smtpURL("smtp", host, port, "", "", ""), testFrom)
			if err != nil {
				t.Fatal(err)
			}
			s.Timeout = tc.timeout
			ctx := t.Context()
			if tc.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.cancelAfter)
				defer cancel()
			}
			start := time.Now()
			err = s.Send(ctx, "", "alice@example.com", []byte("Subject: x\r\n\r\nx\r\n"))
			if err == nil {
				t.Fatal("Send to a silent server succeeded")
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Send took %v", took)
			}
			if got := mailpkg.Classify(err); got != mailpkg.ClassTemporary {
				t.Errorf("Classify(%v) = %q, want temporary", err, got)
			}
		})
	}
}

func TestNewSender(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		smtpURL, from, dir string
		wantType           string
		wantErr            string
	}{
		"smtp":              {smtpURL: "smtp://mail.example.com", from: testFrom, wantType: "*mail.SMTPSender"},
		"dir":               {from: testFrom, dir: dir, wantType: "*mail.DirSender"},
		"neither":           {from: testFrom, wantErr: "--mail-dir"},
		"bad from":          {smtpURL: "smtp://mail.example.com", from: "noreply", wantErr: "--mail-from"},
		"bad url":           {smtpURL: "smtp://u:hunter2@:25", from: testFrom, wantErr: "--smtp-url"},
		"smtp wins if both": {smtpURL: "smtps://mail.example.com", from: testFrom, dir: dir, wantType: "*mail.SMTPSender"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := mailpkg.NewSender(tc.smtpURL, tc.from, tc.dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error echoes the password")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSender: %v", err)
			}
			if got := typeName(s); got != tc.wantType {
				t.Errorf("sender is %s, want %s", got, tc.wantType)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *mailpkg.SMTPSender:
		return "*mail.SMTPSender"
	case *mailpkg.DirSender:
		return "*mail.DirSender"
	}
	return "unknown"
}
