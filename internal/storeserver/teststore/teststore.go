// Package teststore runs the real Studio user store in-process for tests: the
// store server of `studio-store serve` (internal/storeserver) on a SQLite file in a
// directory of the test's, listening on 127.0.0.1, with mails written as .eml files.
// Nothing is faked. What a test may add: a clock, an invitation TTL, tokens of its
// own, a mail server that refuses some recipients, and an outage (Stop, Resume).
package teststore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
	"github.com/studio-operator/studio-operator/internal/store/mail"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
	"github.com/studio-operator/studio-operator/internal/storeserver"
)

// Store is a running store.
type Store struct {
	// URL is the base URL of the HTTP API ("http://127.0.0.1:PORT").
	URL string
	// Token is an admin bearer token (subject "admin").
	Token string
	// MailDir receives the invitation mails as .eml files.
	MailDir string

	srv *storeserver.Server
}

// Token is a bearer token the store accepts, besides Store.Token.
type Token struct {
	Role    auth.Role
	Subject string
	Token   string
}

// Options change the store from its defaults.
type Options struct {
	// Clock is the store's and its mail worker's time (time.Now when nil).
	Clock func() time.Time
	// InvitationTTL is how long an invitation link works (the store's default when 0).
	InvitationTTL time.Duration
	// Tokens are accepted as well as Store.Token.
	Tokens []Token
	// Refuse, when set, makes the mail server refuse the mails to the recipients it
	// returns true for, permanently (SMTP 550), so that their delivery fails and
	// is given up after the first attempt: the one fault the store can be given.
	Refuse func(to string) bool
}

// mailPollInterval is short: tests wait for mails.
const mailPollInterval = 100 * time.Millisecond

// Start opens (or creates) the store in dir and serves it on 127.0.0.1.
func Start(dir string) (*Store, error) { return StartWith(dir, Options{}) }

// StartWith is Start with opts.
func StartWith(dir string, opts Options) (*Store, error) {
	s := &Store{Token: randomToken(), MailDir: filepath.Join(dir, "mail")}
	cfg := storeserver.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DB = "sqlite:///" + filepath.Join(dir, "studio.db")
	cfg.AdminToken = s.Token
	cfg.MailDir = s.MailDir
	cfg.MailFrom = "studio@example.com"
	cfg.MailPollInterval = mailPollInterval
	if opts.InvitationTTL > 0 {
		cfg.InvitationTTL = opts.InvitationTTL
	}
	if len(opts.Tokens) > 0 {
		cfg.TokensFile = filepath.Join(dir, "tokens")
		var b strings.Builder
		for _, t := range opts.Tokens {
			fmt.Fprintf(&b, "%s %s %s\n", t.Role, t.Subject, auth.HashToken(t.Token))
		}
		if err := os.WriteFile(cfg.TokensFile, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
	}
	hooks := storeserver.Hooks{Clock: opts.Clock}
	if opts.Refuse != nil {
		hooks.WrapSender = func(next mail.Sender) mail.Sender { return refusing{next: next, refuse: opts.Refuse} }
		hooks.MaxMailAttempts = 1
	}
	srv, err := storeserver.StartWith(context.Background(), cfg, nil, hooks)
	if err != nil {
		return nil, err
	}
	s.srv, s.URL = srv, srv.URL()
	return s, nil
}

// Stop stops serving HTTP (open connections are closed): the store is unreachable,
// as in an outage. The database and the mail worker keep running.
func (s *Store) Stop() error { return s.srv.Pause() }

// Resume serves again on the same address after Stop; serving already is fine.
func (s *Store) Resume() error { return s.srv.Resume() }

// Close stops everything and closes the database.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Service is the store itself, for reads and writes that bypass HTTP.
func (s *Store) Service() *sqlstore.Store { return s.srv.Store() }

// Client returns a client of the HTTP API with the admin token. With manager "" its
// writes carry no X-Studio-Manager header: a person working in the Studio.
func (s *Store) Client(manager string, onRequest func(string, time.Duration, error)) (*storeclient.Client, error) {
	return storeclient.New(s.URL, storeclient.Options{
		Token: s.Token, Manager: manager, Timeout: 5 * time.Second, OnRequest: onRequest,
	})
}

// MailsTo counts the delivered mails addressed to email.
func (s *Store) MailsTo(email string) (int, error) {
	counts, err := mail.Recipients(s.MailDir)
	return counts[strings.ToLower(email)], err
}

// Audit returns every audit entry about user.
func (s *Store) Audit(ctx context.Context, user string) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	f := store.AuditFilter{User: user, Limit: 1000}
	for {
		page, err := s.srv.Store().ListAudit(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Entries...)
		if page.Next == nil {
			return out, nil
		}
		f.After = *page.Next
	}
}

// CountActions counts entries with action.
func CountActions(entries []store.AuditEntry, action string) int {
	n := 0
	for _, e := range entries {
		if e.Action == action {
			n++
		}
	}
	return n
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("teststore: no randomness: %v", err))
	}
	return hex.EncodeToString(b)
}

// refusing is a mail server that refuses some recipients with a permanent error and
// delivers the rest to next.
type refusing struct {
	next   mail.Sender
	refuse func(to string) bool
}

func (r refusing) Send(ctx context.Context, from, to string, msg []byte) error {
	if r.refuse(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable: " + to}
	}
	return r.next.Send(ctx, from, to, msg)
}
