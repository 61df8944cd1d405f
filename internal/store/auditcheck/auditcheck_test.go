package auditcheck_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	_ "modernc.org/sqlite"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auditcheck"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
)

var bg = context.Background()

// openStore opens a SQLite store file with two users' worth of audit entries.
func openStore(t *testing.T) (*sqlstore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "studio.db")
	st, err := sqlstore.Open(bg, "sqlite://"+path, sqlstore.Options{PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := store.Caller{Actor: "ops", Source: "test"}
	for _, key := range []string{"ana", "ben"} {
		if _, _, err := st.PutUser(bg, c, key, store.UserSpec{Email: key + "@example.com", Type: cascade.UserTypeUser, Locale: "en"}); err != nil {
			t.Fatal(err)
		}
	}
	return st, path
}

// tamper edits the first audit entry behind the store's back, as someone with the
// database file could: the append-only triggers dropped first.
func tamper(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{"DROP TRIGGER audit_no_update", "UPDATE audit SET actor = 'mallory' WHERE seq = 1"} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

func TestTheGaugesFollowTheChain(t *testing.T) {
	st, path := openStore(t)
	var logs bytes.Buffer
	c := auditcheck.New(st, auditcheck.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer c.Close()

	if n := testutil.CollectAndCount(c.Collectors()[0]); n != 0 {
		t.Fatalf("before the first check: %d series, want none (no answer is not a broken chain)", n)
	}
	r := c.Check(bg)
	if !r.OK || r.Entries == 0 || r.CheckedAt.IsZero() {
		t.Fatalf("intact chain: %+v", r)
	}
	want := `
# HELP studio_store_audit_chain_verified 1 when the last audit chain check verified every entry, 0 when an entry was edited, missing or reordered; absent before the first check.
# TYPE studio_store_audit_chain_verified gauge
studio_store_audit_chain_verified 1
`
	if err := testutil.CollectAndCompare(c.Collectors()[0], strings.NewReader(want), "studio_store_audit_chain_verified"); err != nil {
		t.Error(err)
	}

	tamper(t, path)
	r = c.Check(bg)
	if r.OK || r.FirstBad == nil || *r.FirstBad != 1 {
		t.Fatalf("edited entry 1: %+v", r)
	}
	if err := testutil.CollectAndCompare(c.Collectors()[0], strings.NewReader(strings.Replace(want, "\nstudio_store_audit_chain_verified 1\n", "\nstudio_store_audit_chain_verified 0\n", 1)), "studio_store_audit_chain_verified"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(c.Collectors()[0], "studio_store_audit_chain_entries"); got != 1 {
		t.Errorf("entries series: %d", got)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "audit chain does not verify") || !strings.Contains(logs.String(), "firstBad=1") {
		t.Errorf("a broken chain is logged as an error naming the entry; log:\n%s", logs.String())
	}
}

// blocking is a verifier that answers when told to, or fails when its context ends:
// the fault of a database that does not answer.
type blocking struct {
	calls   atomic.Int32
	release chan struct{}
}

func (b *blocking) VerifyAudit(ctx context.Context) (store.AuditVerification, error) {
	b.calls.Add(1)
	select {
	case <-b.release:
		return store.AuditVerification{OK: true, Entries: 3}, nil
	case <-ctx.Done():
		return store.AuditVerification{}, store.Unavailable(ctx.Err())
	}
}

func TestOneCheckAtATimeAndPagesDoNotWait(t *testing.T) {
	v := &blocking{release: make(chan struct{})}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	c := auditcheck.New(v, auditcheck.Options{Now: func() time.Time { return *clock.Load() }})
	defer c.Close()

	start := time.Now()
	for range 5 {
		if r := c.Get(bg, 30*time.Second, 20*time.Millisecond); !r.Pending {
			t.Fatalf("before the first answer: %+v, want Pending", r)
		}
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("five pages waited %s for a check that does not answer", waited)
	}
	if n := v.calls.Load(); n != 1 {
		t.Errorf("%d checks started, want 1 (one at a time)", n)
	}
	close(v.release)
	if r := c.Check(bg); !r.OK || r.Entries != 3 {
		t.Fatalf("after the answer: %+v", r)
	}
	calls := v.calls.Load()
	if r := c.Get(bg, 30*time.Second, 0); !r.OK || v.calls.Load() != calls {
		t.Errorf("a fresh result is reused: %+v, %d calls (was %d)", r, v.calls.Load(), calls)
	}
	later := now.Add(31 * time.Second)
	clock.Store(&later)
	if r := c.Get(bg, 30*time.Second, 0); !r.OK {
		t.Errorf("a stale result is still shown while the next check runs: %+v", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for v.calls.Load() == calls && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if v.calls.Load() == calls {
		t.Error("a stale result did not start a new check")
	}
}

func TestFailedChecksKeepTheLastAnswerAndCloseEndsAWait(t *testing.T) {
	v := &blocking{release: make(chan struct{})}
	close(v.release)
	c := auditcheck.New(v, auditcheck.Options{Timeout: 50 * time.Millisecond})
	if r := c.Check(bg); !r.OK {
		t.Fatal(r)
	}
	v.release = make(chan struct{}) // the database stops answering
	if r := c.Check(bg); !r.Err {
		t.Fatalf("a check that times out: %+v, want Err", r)
	}
	if got := testutil.ToFloat64(c.Collectors()[1]); got != 1 {
		t.Errorf("check failures: %v, want 1", got)
	}
	want := "\n# HELP studio_store_audit_chain_verified 1 when the last audit chain check verified every entry, 0 when an entry was edited, missing or reordered; absent before the first check.\n# TYPE studio_store_audit_chain_verified gauge\nstudio_store_audit_chain_verified 1\n"
	if err := testutil.CollectAndCompare(c.Collectors()[0], strings.NewReader(want), "studio_store_audit_chain_verified"); err != nil {
		t.Errorf("a failed check does not change what the last answer said: %v", err)
	}

	slow := auditcheck.New(&blocking{release: make(chan struct{})}, auditcheck.Options{Timeout: time.Hour})
	go slow.Check(bg)
	time.Sleep(20 * time.Millisecond)
	done := make(chan struct{})
	go func() { slow.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the check under way")
	}
	if got := testutil.ToFloat64(slow.Collectors()[1]); got != 0 {
		t.Errorf("a check ended by Close counted as a failure: %v", got)
	}
	if r := slow.Check(bg); !r.Pending {
		t.Errorf("after Close: %+v, want Pending (no check starts)", r)
	}
}

func TestCatchUpWithTheLog(t *testing.T) {
	st, _ := openStore(t)
	c := auditcheck.New(st, auditcheck.Options{})
	defer c.Close()
	first := c.Get(bg, time.Hour, 5*time.Second)
	if !first.OK || first.Entries == 0 {
		t.Fatalf("first check: %+v", first)
	}
	if _, _, err := st.PutUser(bg, store.Caller{Actor: "ops", Source: "test"}, "cleo", store.UserSpec{Email: "cleo@example.com", Type: cascade.UserTypeUser, Locale: "en"}); err != nil {
		t.Fatal(err)
	}
	newest := first.Entries + 1
	if r := c.Get(bg, time.Hour, 5*time.Second); r.Entries != first.Entries {
		t.Errorf("within maxAge the last result stands: %d entries, want %d", r.Entries, first.Entries)
	}
	time.Sleep(10*first.Took + time.Millisecond)
	if r := c.CatchUp(bg, newest, 5*time.Second); !r.OK || r.Entries < newest {
		t.Errorf("after CatchUp: %+v, want at least %d entries (the last check was quick, so it waits)", r, newest)
	}
}

// A busy log is ahead of every check: pages opened right after one do not start the
// next (nor wait) until ten times its duration has passed.
func TestCatchUpIsBoundedOnABusyLog(t *testing.T) {
	v := &slowVerifier{took: 50 * time.Millisecond}
	c := auditcheck.New(v, auditcheck.Options{})
	defer c.Close()
	r := c.Check(bg)
	if !r.OK || r.Took < v.took {
		t.Fatalf("first check: %+v", r)
	}
	start := time.Now()
	for range 20 {
		if r := c.CatchUp(bg, r.Entries+100, time.Second); !r.OK {
			t.Fatalf("CatchUp: %+v", r)
		}
	}
	if waited := time.Since(start); waited > 10*v.took {
		t.Errorf("20 pages waited %s for checks that take %s", waited, v.took)
	}
	if n := v.calls.Load(); n != 1 {
		t.Errorf("%d checks within ten times the duration of one, want 1", n)
	}
}

// slowVerifier answers after took, with one more entry each time.
type slowVerifier struct {
	took  time.Duration
	calls atomic.Int64
}

func (s *slowVerifier) VerifyAudit(ctx context.Context) (store.AuditVerification, error) {
	n := s.calls.Add(1)
	select {
	case <-time.After(s.took):
	case <-ctx.Done():
		return store.AuditVerification{}, ctx.Err()
	}
	return store.AuditVerification{OK: true, Entries: 1000 + n}, nil
}
