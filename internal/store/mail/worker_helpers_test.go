package mail_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	mailpkg "github.com/studio-operator/studio-operator/internal/store/mail"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
	"github.com/studio-operator/studio-operator/internal/testclock"
)

// testClock is the manual clock shared by the store and the worker, so that backoff
// and leases are tested without waiting.
type testClock = testclock.Clock

func newTestClock() *testClock {
	return testclock.New(time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC))
}

// testStore is a real SQLite-backed store in a temporary directory.
type testStore struct {
	*sqlstore.Store
	path string
}

const testPublicURL = "https://studio.example"

func newTestStore(t *testing.T, clock func() time.Time) *testStore {
	t.Helper()
	path := filepath.Join(t.TempDir(), "studio.db")
	s, err := sqlstore.Open(t.Context(), "sqlite:///"+path, sqlstore.Options{PublicURL: testPublicURL, Clock: clock})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ts := &testStore{Store: s, path: path}
	caller := store.Caller{Actor: "test"}
	ctx := t.Context()
	if _, _, err := s.PutAgency(ctx, caller, "acme", store.AgencySpec{DisplayName: "Acme Support"}); err != nil {
		t.Fatalf("PutAgency: %v", err)
	}
	if _, _, err := s.PutEnvironment(ctx, caller, "team-a.prod", store.EnvironmentSpec{Agency: "acme", DisplayName: "Support bot"}); err != nil {
		t.Fatalf("PutEnvironment: %v", err)
	}
	return ts
}

// invite creates user key with email and a grant, sends the invitation and returns
// its link: the outbox now holds one message for it.
func (s *testStore) invite(t *testing.T, key, email, locale string) string {
	t.Helper()
	ctx, caller := t.Context(), store.Caller{Actor: "test"}
	if _, _, err := s.PutUser(ctx, caller, key, store.UserSpec{Email: email, DisplayName: "Alice <b>Jansen</b>", Type: cascade.UserTypeUser, Locale: locale}); err != nil {
		t.Fatalf("PutUser: %v", err)
	}
	grants := []store.Grant{{Scope: store.Scope{Environment: "team-a.prod"}, Roles: []cascade.Role{cascade.Agent, cascade.Operator}}}
	if _, err := s.PutGrants(ctx, caller, key, grants); err != nil {
		t.Fatalf("PutGrants: %v", err)
	}
	inv, err := s.SendInvitation(ctx, caller, key, "")
	if err != nil {
		t.Fatalf("SendInvitation: %v", err)
	}
	if !strings.HasPrefix(inv.Link, testPublicURL+"/invite/") {
		t.Fatalf("invitation has no link of the expected form")
	}
	return inv.Link
}

// outboxRow is what the outbox keeps about a message, read straight from the
// database: the store's API only claims messages.
type outboxRow struct {
	Attempts  int
	LastError string
	Completed bool
	Failed    bool // dead-lettered: failed_at is set
	Content   bool // the row still holds a recipient or a body
}

func (s *testStore) outboxRows(t *testing.T) []outboxRow {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "SELECT attempts, last_error, completed_at IS NOT NULL, failed_at IS NOT NULL, "+
		"to_addr <> '' OR text_body <> '' OR html_body <> '' FROM outbox ORDER BY id")
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.Attempts, &r.LastError, &r.Completed, &r.Failed, &r.Content); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// recordedBackoff is a Backoff that returns a fixed delay and remembers the attempts
// it was asked about.
type recordedBackoff struct {
	mu       sync.Mutex
	delay    time.Duration
	attempts []int
}

func (b *recordedBackoff) Backoff(attempt int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts = append(b.attempts, attempt)
	return b.delay
}

func (b *recordedBackoff) Attempts() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.attempts...)
}

// logBuffer collects the worker's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Records returns the log records as maps.
func (l *logBuffer) Records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(l.buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// assertNoPrivateData fails when the logs hold an address, the link, a name or the
// subject, and checks every outcome line names the outbox id and attempt.
func (l *logBuffer) assertNoPrivateData(t *testing.T, private ...string) {
	t.Helper()
	l.mu.Lock()
	text := l.buf.String()
	l.mu.Unlock()
	for _, p := range append(private, "Alice", "Jansen", "Invitation to", "/invite/") {
		if p != "" && strings.Contains(text, p) {
			t.Errorf("worker log holds private data %q", p)
		}
	}
	for _, r := range l.Records(t) {
		msg := fmt.Sprint(r["msg"])
		if !strings.HasPrefix(msg, "mail delivery") && msg != "mail delivered" {
			continue
		}
		if r["outbox_id"] == nil || r["attempt"] == nil {
			t.Errorf("log line %q lacks outbox_id or attempt", msg)
		}
	}
}

// faultOutbox wraps the real outbox to inject faults: claim and complete errors, and
// corrupted messages. It records the messages the worker dead-letters (FailOutbox).
type faultOutbox struct {
	store.Outbox

	mu          sync.Mutex
	claimErrs   int // fail this many ClaimOutbox calls
	completeErr int // fail this many CompleteOutbox calls
	mutate      func(*store.OutboxMessage)
	failed      []int64 // ids passed to FailOutbox
}

var errInjected = fmt.Errorf("injected fault: %w", store.Unavailable(fmt.Errorf("database is down")))

func (f *faultOutbox) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]store.OutboxMessage, error) {
	f.mu.Lock()
	if f.claimErrs > 0 {
		f.claimErrs--
		f.mu.Unlock()
		return nil, errInjected
	}
	mutate := f.mutate
	f.mu.Unlock()
	msgs, err := f.Outbox.ClaimOutbox(ctx, now, limit, lease)
	if mutate != nil {
		for i := range msgs {
			mutate(&msgs[i])
		}
	}
	return msgs, err
}

func (f *faultOutbox) CompleteOutbox(ctx context.Context, id int64, at time.Time) error {
	f.mu.Lock()
	if f.completeErr > 0 {
		f.completeErr--
		f.mu.Unlock()
		return errInjected
	}
	f.mu.Unlock()
	return f.Outbox.CompleteOutbox(ctx, id, at)
}

func (f *faultOutbox) FailOutbox(ctx context.Context, id int64, at time.Time, reason string) error {
	f.mu.Lock()
	f.failed = append(f.failed, id)
	f.mu.Unlock()
	return f.Outbox.FailOutbox(ctx, id, at, reason)
}

// Failed returns the ids the worker dead-lettered.
func (f *faultOutbox) Failed() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.failed...)
}

// newSMTPSenderFor returns an SMTP sender for a test server (trusting its
// certificate) or for addr when nothing listens there yet.
func newSMTPSenderFor(t *testing.T, addr string, srv *testSMTPServer, userPass ...string) *mailpkg.SMTPSender {
	t.Helper()
	host, port := "127.0.0.1", ""
	if srv != nil {
		port = srv.Port
	} else {
		_, port, _ = strings.Cut(addr, ":")
	}
	user, pass := "", ""
	if len(userPass) == 2 {
		user, pass = userPass[0], userPass[1]
	}
	s, err := mailpkg.NewSMTPSender(smtpURL("smtp", host, port, user, pass, ""), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	s.Timeout = 5 * time.Second
	if srv != nil {
		s.RootCAs = srv.RootCA
	}
	return s
}

// waitFor polls cond every 10ms for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
