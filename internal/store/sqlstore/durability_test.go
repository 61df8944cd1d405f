package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
)

func TestSQLiteFileKeepsDataAcrossReopen(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "nested", "studio.db")
	s := openTest(t, dsn, Options{})
	seed(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dsn, Options{})
	u, err := s.GetUser(bg, "alice")
	if err != nil || u.Email != "alice@example.com" {
		t.Fatalf("user after reopening = %+v, %v", u, err)
	}
	access, err := s.GetAccess(bg, "alice")
	if err != nil || len(access.Environments) != 1 {
		t.Fatalf("access after reopening = %+v, %v", access, err)
	}
	v, err := s.VerifyAudit(bg)
	if err != nil || !v.OK || v.Entries != 5 {
		t.Fatalf("audit after reopening = %+v, %v", v, err)
	}
	// Appending continues the same chain.
	if _, _, err := s.PutAgency(bg, testCaller, "globex", store.AgencySpec{}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.VerifyAudit(bg); err != nil || !v.OK || v.Entries != 6 {
		t.Fatalf("audit after appending = %+v, %v", v, err)
	}
}

// Two stores on one SQLite file behave like two processes: their writers queue on
// the file lock (busy_timeout, BEGIN IMMEDIATE) instead of failing with SQLITE_BUSY.
func TestSQLiteWritersInTwoStoresWait(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "studio.db")
	a := openTest(t, dsn, Options{})
	b := openTest(t, dsn, Options{})
	seed(t, a)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			roles := []cascade.Role{cascade.AssignableRoles[i%len(cascade.AssignableRoles)]}
			if roles[0] == cascade.OrganisationManager {
				roles[0] = cascade.Planner
			}
			_, err := s.PutGrants(bg, testCaller, "alice", []store.Grant{{Scope: store.Scope{Environment: "team-a.prod"}, Roles: roles}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent writer: %v", err)
		}
	}
	if v, err := b.VerifyAudit(bg); err != nil || !v.OK {
		t.Fatalf("audit after two stores wrote = %+v, %v", v, err)
	}
}

func TestOpenRefusesUnknownDSN(t *testing.T) {
	_, err := Open(bg, "mysql://db/studio", Options{})
	if err == nil || !strings.Contains(err.Error(), "sqlite:///") || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("Open(mysql) = %v; want an error naming the accepted forms", err)
	}
}

func TestUnreachablePostgresIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	_, err = Open(ctx, fmt.Sprintf("postgres://u:secret-password@%s/studio?sslmode=disable&connect_timeout=2", addr), Options{})
	if !store.IsTransient(err) || store.CodeOf(err) != store.CodeUnavailable {
		t.Fatalf("Open on a closed port = %v; want unavailable (transient)", err)
	}
	if strings.Contains(err.Error(), "secret-password") {
		t.Fatal("the error leaks the password")
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		if err := s.Ping(bg); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		_ = s.Close()
		for name, err := range map[string]error{
			"Ping":    s.Ping(bg),
			"GetUser": func() error { _, err := s.GetUser(bg, "alice"); return err }(),
			"PutUser": func() error {
				_, _, err := s.PutUser(bg, testCaller, "alice", store.UserSpec{Email: "a@example.com"})
				return err
			}(),
		} {
			if store.CodeOf(err) != store.CodeUnavailable {
				t.Errorf("%s on a closed store = %v; want unavailable", name, err)
			}
			var se *store.Error
			if errors.As(err, &se) && strings.Contains(strings.ToUpper(se.Message), "SELECT") {
				t.Errorf("%s leaks SQL: %q", name, se.Message)
			}
		}
	})
}

func TestKeysAreValidated(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		for _, key := range []string{"", "a/b", "a b"} {
			_, _, err := s.PutAgency(bg, testCaller, key, store.AgencySpec{})
			expectCode(t, err, store.CodeInvalid, "key")
			_, _, err = s.PutUser(bg, testCaller, key, store.UserSpec{Email: "a@example.com"})
			expectCode(t, err, store.CodeInvalid, "key")
			_, err = s.PutGrants(bg, testCaller, key, nil)
			expectCode(t, err, store.CodeInvalid, "key")
		}
	})
}
