// Package teststore runs the real Studio user store in-process for the operator's
// tests: the SQL store on a SQLite file, its HTTP API on 127.0.0.1, and the mail
// worker delivering to .eml files. Nothing is faked; the only extra is that the
// server can be stopped and started again on the same address, to test outages.
package teststore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
	"github.com/studio-operator/studio-operator/internal/store/mail"
	sqlstore "github.com/studio-operator/studio-operator/internal/store/sql"
)

// Store is a running store.
type Store struct {
	// URL is the base URL of the HTTP API ("http://127.0.0.1:PORT").
	URL string
	// Token is an admin bearer token.
	Token string
	// MailDir receives the invitation mails as .eml files.
	MailDir string

	svc     *sqlstore.Store
	handler http.Handler
	addr    string

	mu     sync.Mutex
	server *http.Server

	stopWorker context.CancelFunc
	workerDone chan struct{}
}

// Options change the store from its defaults.
type Options struct {
	// InvitationTTL is how long an invitation link works (the store's default when 0).
	InvitationTTL time.Duration
	// Refuse, when set, makes the mail server refuse the mails to the recipients it
	// returns true for, permanently (SMTP 550), so that their delivery fails and
	// is given up after the first attempt: the one fault the store can be given.
	Refuse func(to string) bool
}

// Start opens (or creates) the store in dir and serves it on 127.0.0.1.
func Start(dir string) (*Store, error) { return StartWith(dir, Options{}) }

// StartWith is Start with opts.
func StartWith(dir string, opts Options) (*Store, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Store{addr: ln.Addr().String(), MailDir: filepath.Join(dir, "mail")}
	s.URL = "http://" + s.addr
	quiet := slog.New(slog.DiscardHandler)
	s.svc, err = sqlstore.Open(context.Background(), "sqlite:///"+filepath.Join(dir, "studio.db"),
		sqlstore.Options{PublicURL: s.URL, Logger: quiet, InvitationTTL: opts.InvitationTTL})
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.Token = randomToken()
	tokens := &auth.Tokens{}
	if err := tokens.Add(auth.RoleAdmin, "operator", s.Token); err != nil {
		return nil, errors.Join(err, ln.Close(), s.svc.Close())
	}
	s.handler, err = httpapi.New(s.svc, tokens, httpapi.Options{Logger: quiet})
	if err != nil {
		return nil, errors.Join(err, ln.Close(), s.svc.Close())
	}
	s.serve(ln)

	dirSender, err := mail.NewDirSender(s.MailDir)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	var sender mail.Sender = dirSender
	wopts := mail.WorkerOptions{From: "studio@example.com", PollInterval: 100 * time.Millisecond, Logger: quiet}
	if opts.Refuse != nil {
		sender = refusing{next: dirSender, refuse: opts.Refuse}
		wopts.MaxAttempts = 1
	}
	worker, err := mail.NewWorker(s.svc, sender, wopts)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWorker, s.workerDone = cancel, make(chan struct{})
	go func() {
		defer close(s.workerDone)
		_ = worker.Run(ctx)
	}()
	return s, nil
}

func (s *Store) serve(ln net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.server = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop stops serving HTTP (open connections are closed): the store is unreachable,
// as in an outage. The database stays open.
func (s *Store) Stop() error {
	s.mu.Lock()
	srv := s.server
	s.server = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Resume serves again on the same address after Stop; serving already is fine.
func (s *Store) Resume() error {
	s.mu.Lock()
	running := s.server != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	var ln net.Listener
	var err error
	// The port was just released; retry briefly in case the kernel still holds it.
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Close stops everything and closes the database.
func (s *Store) Close() error {
	err := s.Stop()
	if s.stopWorker != nil {
		s.stopWorker()
		<-s.workerDone
	}
	return errors.Join(err, s.svc.Close())
}

// Service is the store itself, for reads that bypass HTTP.
func (s *Store) Service() store.Service { return s.svc }

// Client returns a client of the HTTP API. With manager "" its writes carry no
// X-Studio-Manager header: a person working in the Studio.
func (s *Store) Client(manager string, onRequest func(string, time.Duration, error)) (*storeclient.Client, error) {
	return storeclient.New(s.URL, storeclient.Options{
		Token: s.Token, Manager: manager, Timeout: 5 * time.Second, OnRequest: onRequest,
	})
}

// MailsTo counts the delivered mails addressed to email.
func (s *Store) MailsTo(email string) (int, error) {
	entries, err := os.ReadDir(s.MailDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		f, err := os.Open(filepath.Join(s.MailDir, e.Name()))
		if err != nil {
			return 0, err
		}
		msg, err := netmail.ReadMessage(f)
		if err == nil {
			if to, perr := netmail.ParseAddress(msg.Header.Get("To")); perr == nil && strings.EqualFold(to.Address, email) {
				n++
			}
		}
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	return n, nil
}

// Audit returns every audit entry about user.
func (s *Store) Audit(ctx context.Context, user string) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	f := store.AuditFilter{User: user, Limit: 1000}
	for {
		page, err := s.svc.ListAudit(ctx, f)
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
