package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"github.com/go-logr/logr"

	"github.com/studio-operator/studio-operator/internal/storeserver"
)

// storeShutdownTimeout bounds the store's graceful stop: requests under way and the
// mail being delivered.
const storeShutdownTimeout = 15 * time.Second

// errStoreStopped: the store's HTTP server ended on its own.
const errStoreStopped = "the store stopped serving: %w"

// storeConfig is how the sandbox runs the store.
type storeConfig struct {
	listen        string
	dbPath        string
	mailDir       string
	mailFrom      string
	invitationTTL time.Duration
	adminToken    string
	logger        logr.Logger
	onFailure     func(error)
}

// runningStore is the store serving in this process.
type runningStore struct {
	srv  *storeserver.Server
	done chan struct{}
}

// startStore runs the store as `studio-store serve` would, in this process: SQLite at
// dbPath, .eml files in mailDir, one admin token, links to its own address.
func startStore(ctx context.Context, c storeConfig) (*runningStore, error) {
	cfg := storeserver.DefaultConfig()
	cfg.Listen = c.listen
	cfg.DB = "sqlite://" + c.dbPath // dbPath is absolute: sqlite:///abs/path.db
	cfg.MailDir = c.mailDir
	cfg.MailFrom = c.mailFrom
	cfg.InvitationTTL = c.invitationTTL
	cfg.AdminToken = c.adminToken
	cfg.ShutdownTimeout = storeShutdownTimeout
	srv, err := storeserver.Start(ctx, cfg, slog.New(logr.ToSlogHandler(c.logger)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf(errPortInUse, c.listen)
		}
		return nil, fmt.Errorf("start the store: %w", err)
	}
	s := &runningStore{srv: srv, done: make(chan struct{})}
	go func() {
		select {
		case err := <-srv.Served():
			c.onFailure(fmt.Errorf(errStoreStopped, err))
		case <-s.done:
		}
	}()
	return s, nil
}

// url is the store's base URL (http://127.0.0.1:PORT).
func (s *runningStore) url() string { return s.srv.URL() }

// stop shuts the HTTP server down, lets the mail under way finish, closes the database.
func (s *runningStore) stop() error {
	close(s.done)
	ctx, cancel := context.WithTimeout(context.Background(), storeShutdownTimeout)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
