package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
	"github.com/studio-operator/studio-operator/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backends are the databases every behavioural test runs on: a SQLite file in the
// test's temporary directory and a fresh database on the shared PostgreSQL server.
var backends = map[string]func(t testing.TB) string{
	"sqlite":   func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "studio.db") },
	"postgres": func(t testing.TB) string { return pgtest.StartFrom(t, "sqlstore", migrated) },
}

// migrated prepares the template of the PostgreSQL test databases: the schema, so each
// test's copy starts migrated.
func migrated(ctx context.Context, dsn string) error {
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		return err
	}
	return s.Close()
}

func TestStoreSuite(t *testing.T) {
	for name, dsn := range backends {
		t.Run(name, func(t *testing.T) {
			conformance.Run(t, func(t *testing.T, cfg conformance.Config) store.API {
				return openTest(t, dsn(t), Options{Clock: cfg.Clock, InvitationTTL: cfg.InvitationTTL, PublicURL: cfg.PublicURL})
			})
		})
	}
}

// openTest opens a store on dsn, closed when the test ends.
func openTest(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
