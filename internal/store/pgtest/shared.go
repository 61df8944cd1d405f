package pgtest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

// shared is the server of this test binary, started by the first Start.
var shared struct {
	mu  sync.Mutex
	srv *Server
	err error
}

func sharedServer() (*Server, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = StartServer()
	}
	return shared.srv, shared.err
}

// Main runs the tests and then stops the shared server. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.srv != nil {
		_ = shared.srv.Stop()
		shared.srv = nil
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// StartFrom is Start for a database that starts as a copy of template: a database
// prepare fills once per test binary (typically by running migrations), which makes
// each test's database much cheaper than migrating it again.
func StartFrom(t testing.TB, template string, prepare func(ctx context.Context, dsn string) error) string {
	t.Helper()
	srv, err := sharedServer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, drop, err := srv.CreateDatabaseFrom(ctx, template, prepare)
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}

// CreateDatabaseFrom is StartFrom for code that cannot fail a test directly (such as
// a benchmark's fixture shared across runs): it returns the DSN, a function that drops
// the database, and any error.
func CreateDatabaseFrom(ctx context.Context, template string, prepare func(ctx context.Context, dsn string) error) (dsn string, drop func() error, err error) {
	srv, err := sharedServer()
	if err != nil {
		return "", nil, err
	}
	return srv.CreateDatabaseFrom(ctx, template, prepare)
}

// Start returns the DSN of a fresh database on the shared server (starting it on
// first use), dropped when the test ends. It fails the test when PostgreSQL cannot be
// started; it never skips.
func Start(t testing.TB) string {
	t.Helper()
	srv, err := sharedServer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, drop, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}
