package storeserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auditcheck"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
	"github.com/studio-operator/studio-operator/internal/store/mail"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
)

// HTTP server timeouts: bounded, so slow or stuck clients cannot hold connections.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Server is a running store: HTTP API, mail worker and database.
type Server struct {
	log      *slog.Logger
	url      string
	addr     string
	store    *sqlstore.Store
	audit    *auditcheck.Checker
	handler  http.Handler
	served   chan error
	stopWork context.CancelFunc // stops the mail worker and the periodic chain checks
	mailDone chan struct{}
	once     sync.Once
	stopErr  error

	mu      sync.Mutex
	http    *http.Server // nil while paused
	stopped bool
}

// Hooks change a Server in ways no flag offers, for tests that run the store
// in-process: a clock to move time, and a mail sender wrapped to inject faults.
type Hooks struct {
	// Clock is the time of the store and of its mail worker; time.Now when nil.
	Clock func() time.Time
	// WrapSender, when set, wraps the sender the configuration chose.
	WrapSender func(mail.Sender) mail.Sender
	// MaxMailAttempts dead-letters a mail after this many permanent failures
	// (mail.DefaultMaxAttempts when 0).
	MaxMailAttempts int
}

// Start validates cfg, opens the database, and starts serving and delivering mail.
// It returns once the listener is bound; stop the server with Shutdown.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	return StartWith(ctx, cfg, log, Hooks{})
}

// StartWith is Start with hooks.
func StartWith(ctx context.Context, cfg Config, log *slog.Logger, hooks Hooks) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tokens, err := loadTokens(cfg)
	if err != nil {
		return nil, err
	}
	linkKey, err := loadLinkKey(cfg)
	if err != nil {
		return nil, err
	}
	sender, err := mail.NewSender(cfg.SMTPURL, cfg.MailFrom, cfg.MailDir)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	if hooks.WrapSender != nil {
		sender = hooks.WrapSender(sender)
	}
	listener, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	s := &Server{
		log: log, url: publicURL(cfg.PublicURL, listener.Addr()), addr: listener.Addr().String(),
		served: make(chan error, 1), mailDone: make(chan struct{}),
	}
	st, err := sqlstore.Open(ctx, cfg.DB, sqlstore.Options{
		PublicURL: s.url, InvitationTTL: cfg.InvitationTTL, Logger: log, LinkKey: linkKey, Clock: hooks.Clock,
	})
	if err != nil {
		_ = listener.Close()
		return nil, fmt.Errorf("--db: %w", err)
	}
	s.store = st

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mailMetrics := mail.NewMetrics()
	registry.MustRegister(mailMetrics.Collectors()...)
	worker, err := mail.NewWorker(st, sender, mail.WorkerOptions{
		From: cfg.MailFrom, PollInterval: cfg.MailPollInterval, Lease: cfg.MailLease, SendTimeout: cfg.MailSendTimeout,
		MaxAttempts: hooks.MaxMailAttempts, Clock: hooks.Clock, Logger: log, Metrics: mailMetrics,
	})
	if err != nil {
		_ = listener.Close()
		_ = st.Close()
		return nil, err
	}
	svc := kickingService{Service: st, kick: worker.Kick}
	s.audit = auditcheck.New(st, auditcheck.Options{Now: hooks.Clock, Logger: log})
	registry.MustRegister(s.audit.Collectors()...)
	var handler http.Handler
	api, err := httpapi.New(svc, tokens, httpapi.Options{Logger: log, Registry: registry})
	if err == nil {
		handler, err = withPages(api, svc, tokens, s.audit, s.url, log)
	}
	if err != nil {
		_ = listener.Close()
		_ = st.Close()
		return nil, err
	}
	s.handler = handler

	// The worker outlives the request contexts: it stops only in Shutdown, after the
	// HTTP server, so a mail committed by the last request is still attempted.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	s.stopWork = stopWork
	go func() {
		defer close(s.mailDone)
		_ = worker.Run(work)
	}()
	go s.audit.Run(work, cfg.AuditCheckInterval)
	s.serve(listener)
	log.Info("studio-store serving", "address", listener.Addr().String(), "db", dbKind(cfg.DB), "mail", mailKind(cfg.SMTPURL))
	return s, nil
}

// serve serves the API on listener until the server is paused or shut down.
func (s *Server) serve(listener net.Listener) {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	s.http = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			s.served <- err
		}
	}()
}

// Pause stops serving HTTP at once, closing open connections: to its clients the
// store is down, as in an outage. The database and the mail worker keep running.
func (s *Server) Pause() error {
	s.mu.Lock()
	srv := s.http
	s.http = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Resume serves again on the address of Start after Pause; serving already is fine.
func (s *Server) Resume() error {
	s.mu.Lock()
	running, stopped := s.http != nil, s.stopped
	s.mu.Unlock()
	if stopped {
		return errors.New("the store server was shut down")
	}
	if running {
		return nil
	}
	var err error
	// The port was just released; retry briefly in case the kernel still holds it.
	for range 50 {
		var l net.Listener
		if l, err = net.Listen("tcp", s.addr); err == nil {
			s.serve(l)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Store is the store itself, for reads and writes that bypass HTTP (tests).
func (s *Server) Store() *sqlstore.Store { return s.store }

// URL is the public base URL of the server (links point there).
func (s *Server) URL() string { return s.url }

// Served yields the error that stopped the HTTP server unasked; after Shutdown it
// yields nothing.
func (s *Server) Served() <-chan error { return s.served }

// Shutdown stops accepting requests and waits for the ones under way, lets the mail
// worker finish the delivery under way, then closes the database. ctx bounds the
// wait for requests.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		var errs []error
		s.mu.Lock()
		srv := s.http
		s.http, s.stopped = nil, true
		s.mu.Unlock()
		if srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("http shutdown: %w", err))
			}
		}
		s.stopWork()
		s.audit.Close()
		select {
		case <-s.mailDone:
		case <-ctx.Done():
			errs = append(errs, errors.New("mail worker did not stop in time"))
		}
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
		s.stopErr = errors.Join(errs...)
		s.log.Info("studio-store stopped")
	})
	return s.stopErr
}

// Run starts the server and serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	s, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-s.Served():
		serveErr = fmt.Errorf("http server: %w", serveErr)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(serveErr, s.Shutdown(shutdownCtx))
}

// kickingService wakes the mail worker after an invitation is committed, so the
// mail goes out now rather than at the next poll.
type kickingService struct {
	store.Service
	kick func()
}

func (k kickingService) SendInvitation(ctx context.Context, c store.Caller, key, idempotencyKey string) (store.Invitation, error) {
	inv, err := k.Service.SendInvitation(ctx, c, key, idempotencyKey)
	if err == nil {
		k.kick()
	}
	return inv, err
}

// loadTokens reads --tokens-file and adds $STUDIO_STORE_ADMIN_TOKEN.
func loadTokens(cfg Config) (*auth.Tokens, error) {
	tokens := &auth.Tokens{}
	if cfg.TokensFile != "" {
		var err error
		if tokens, err = auth.LoadFile(cfg.TokensFile); err != nil {
			return nil, fmt.Errorf("--tokens-file: %w", err)
		}
	}
	if cfg.AdminToken != "" {
		if err := tokens.Add(auth.RoleAdmin, auth.AdminSubject, cfg.AdminToken); err != nil {
			return nil, fmt.Errorf("$%s: %w", auth.AdminTokenEnv, err)
		}
	}
	if tokens.Len() == 0 {
		return nil, errNoTokens
	}
	return tokens, nil
}

// loadLinkKey reads --link-key-file. Without it SQLite keeps its key in a file beside
// the database; PostgreSQL has no such place that every replica shares, so there the
// flag is required.
func loadLinkKey(cfg Config) ([]byte, error) {
	if cfg.LinkKeyFile == "" {
		if dbKind(cfg.DB) != "sqlite" {
			return nil, errLinkKeyRequired
		}
		return nil, nil
	}
	key, err := sqlstore.ReadLinkKeyFile(cfg.LinkKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--link-key-file: %w", err)
	}
	return key, nil
}

// dbKind and mailKind describe the configuration for the startup log line without
// the URLs, which may hold passwords.
func dbKind(dsn string) string {
	scheme, _, _ := strings.Cut(dsn, "://")
	return scheme
}

func mailKind(smtpURL string) string {
	if smtpURL == "" {
		return "files"
	}
	return "smtp"
}
