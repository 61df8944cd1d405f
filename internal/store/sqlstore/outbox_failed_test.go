package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
	"github.com/studio-operator/studio-operator/internal/store/pgtest"
)

// failedRow is what the outbox keeps of a message, read straight from the database.
type failedRow struct {
	Attempts    int
	LastError   string
	To          string
	Text        string
	HTML        string
	CompletedAt int64 // 0 when NULL
	FailedAt    int64 // 0 when NULL
}

func readOutboxRow(t *testing.T, s *Store, id int64) failedRow {
	t.Helper()
	var r failedRow
	var completed, failed sql.NullInt64
	err := s.writer.QueryRowContext(bg, s.d.q("SELECT attempts, last_error, to_addr, text_body, html_body, completed_at, failed_at FROM outbox WHERE id = ?"), id).
		Scan(&r.Attempts, &r.LastError, &r.To, &r.Text, &r.HTML, &completed, &failed)
	if err != nil {
		t.Fatalf("read outbox message %d: %v", id, err)
	}
	r.CompletedAt, r.FailedAt = completed.Int64, failed.Int64
	return r
}

// inviteOne sends an invitation to a new user key and returns its outbox message id.
func inviteOne(t *testing.T, s *Store, key string) int64 {
	t.Helper()
	if _, _, err := s.PutUser(bg, testCaller, key, store.UserSpec{Email: key + "@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendInvitation(bg, testCaller, key, ""); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.writer.QueryRowContext(bg, s.d.q("SELECT id FROM outbox WHERE user_key = ?"), key).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// claimIDs claims every message due at now and returns their ids.
func claimIDs(t *testing.T, s *Store, now time.Time) []int64 {
	t.Helper()
	msgs, err := s.ClaimOutbox(bg, now, maxClaim, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return ids(msgs)
}

func TestFailOutbox(t *testing.T) {
	now := conformance.Start
	// The reason holds an address and a link; only their redacted forms may be kept.
	const reason = "550 5.1.1 <alice@example.com> unknown; see https://studio.example.test/invite/abcdef123"
	const redacted = "550 5.1.1 <[email]> unknown; see [url]"
	failAt := now.Add(time.Hour)
	cases := map[string]struct {
		// prepare brings the message into the state FailOutbox finds it in.
		prepare  func(t *testing.T, s *Store, id int64)
		unknown  bool // FailOutbox is asked about an id that does not exist
		wantCode store.Code
		want     failedRow // the row after FailOutbox
	}{
		"a claimed message": {
			prepare: func(t *testing.T, s *Store, _ int64) { claimIDs(t, s, now) },
			want:    failedRow{Attempts: 1, LastError: redacted, FailedAt: micros(failAt)},
		},
		"a message retried before": {
			prepare: func(t *testing.T, s *Store, id int64) {
				claimIDs(t, s, now)
				if err := s.RetryOutbox(bg, id, now.Add(time.Minute), "421 try later"); err != nil {
					t.Fatal(err)
				}
				claimIDs(t, s, now.Add(time.Minute))
			},
			want: failedRow{Attempts: 2, LastError: redacted, FailedAt: micros(failAt)},
		},
		"a completed message: nothing": {
			prepare: func(t *testing.T, s *Store, id int64) {
				claimIDs(t, s, now)
				if err := s.CompleteOutbox(bg, id, now.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			want: failedRow{CompletedAt: micros(now.Add(time.Second))},
		},
		"a failed message: nothing": {
			prepare: func(t *testing.T, s *Store, id int64) {
				claimIDs(t, s, now)
				if err := s.FailOutbox(bg, id, now.Add(time.Second), "first reason"); err != nil {
					t.Fatal(err)
				}
			},
			want: failedRow{Attempts: 1, LastError: "first reason", FailedAt: micros(now.Add(time.Second))},
		},
		"an unknown message": {
			unknown:  true,
			wantCode: store.CodeNotFound,
		},
	}
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		i := 0
		for name, tc := range cases {
			i++
			key := fmt.Sprintf("user-%d", i)
			t.Run(name, func(t *testing.T) {
				id := inviteOne(t, s, key)
				if tc.prepare != nil {
					tc.prepare(t, s, id)
				}
				target := id
				if tc.unknown {
					target = id + 1000
				}
				if err := s.FailOutbox(bg, target, failAt, reason); store.CodeOf(err) != tc.wantCode {
					t.Fatalf("FailOutbox = %v, want code %q", err, tc.wantCode)
				}
				if tc.unknown {
					return
				}
				if diff := cmp.Diff(tc.want, readOutboxRow(t, s, id)); diff != "" {
					t.Fatalf("row after FailOutbox (-want +got):\n%s", diff)
				}
				if tc.want.FailedAt == 0 {
					return
				}
				// A failed message is never claimed again, and completing or retrying
				// it (a late worker) changes nothing.
				for _, at := range []time.Time{failAt, failAt.Add(24 * time.Hour), failAt.AddDate(200, 0, 0)} {
					for _, got := range claimIDs(t, s, at) {
						if got == id {
							t.Fatalf("failed message claimed at %v", at)
						}
					}
				}
				if err := s.CompleteOutbox(bg, id, failAt.Add(time.Minute)); err != nil {
					t.Fatalf("CompleteOutbox of a failed message = %v, want nil", err)
				}
				if err := s.RetryOutbox(bg, id, failAt.Add(time.Minute), "again"); err != nil {
					t.Fatalf("RetryOutbox of a failed message = %v, want nil", err)
				}
				if diff := cmp.Diff(tc.want, readOutboxRow(t, s, id)); diff != "" {
					t.Fatalf("failed row changed by CompleteOutbox or RetryOutbox (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// gooseAt returns a goose provider over the embedded migrations of dsn's dialect, on
// a connection of its own (closed when the test ends).
func gooseAt(t *testing.T, dsn string) (*goose.Provider, *sql.DB, *dialect) {
	t.Helper()
	target, err := parseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	driverDSN := target.url
	if target.dialect == sqliteDialect {
		driverDSN = sqliteDriverDSN(target.path, true)
	}
	db, err := sql.Open(target.dialect.driver, driverDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir, err := fs.Sub(migrations, "migrations/"+target.dialect.name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(target.dialect.goose, db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p, db, target.dialect
}

// TestOutboxFailedMigration opens a database that an older store migrated (before
// failed_at existed) and holds pending mail: Open adds the column and the new index,
// the old mail is still delivered, and the Down migration keeps failed mail out of
// the queue of the older store.
func TestOutboxFailedMigration(t *testing.T) {
	cases := map[string]struct {
		dsn        func(t *testing.T) string // an empty database
		oldVersion int64                     // the last migration before failed_at
		indexQuery string                    // the definition of the outbox_due index
	}{
		"sqlite": {
			dsn:        func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "old.db") },
			oldVersion: 1,
			indexQuery: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'outbox_due'",
		},
		"postgres": {
			dsn:        func(t *testing.T) string { return pgtest.Start(t) },
			oldVersion: 2,
			indexQuery: "SELECT indexdef FROM pg_indexes WHERE indexname = 'outbox_due'",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := tc.dsn(t)
			p, db, d := gooseAt(t, dsn)
			if _, err := p.UpTo(bg, tc.oldVersion); err != nil {
				t.Fatalf("migrate to the old schema: %v", err)
			}
			now := conformance.Start
			for _, mid := range []string{"<old-1@studio.example.test>", "<old-2@studio.example.test>"} {
				if _, err := db.ExecContext(bg, d.q("INSERT INTO outbox (message_id, user_key, to_addr, subject, text_body, html_body, created_at, next_attempt_at) VALUES (?, 'alice', 'alice@example.com', 'Invitation', 'text', 'html', ?, ?)"),
					mid, micros(now), micros(now)); err != nil {
					t.Fatalf("write old outbox row: %v", err)
				}
			}

			// Reopening runs the new migration.
			s, err := Open(bg, dsn, Options{})
			if err != nil {
				t.Fatalf("Open on the old schema: %v", err)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE failed_at IS NULL"); n != 2 {
				t.Fatalf("%d old messages without failed_at, want 2", n)
			}
			var index string
			if err := s.writer.QueryRowContext(bg, tc.indexQuery).Scan(&index); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(index, "failed_at IS NULL") {
				t.Fatalf("outbox_due index = %q, want it to leave out failed messages", index)
			}
			claimed := claimIDs(t, s, now)
			if len(claimed) != 2 {
				t.Fatalf("claimed %v, want both old messages", claimed)
			}
			failed, pending := claimed[0], claimed[1]
			if err := s.FailOutbox(bg, failed, now, "550 unknown"); err != nil {
				t.Fatal(err)
			}
			if got := claimIDs(t, s, now.Add(time.Hour)); !slices.Equal(got, []int64{pending}) {
				t.Fatalf("claimed %v after failing %d, want only %d", got, failed, pending)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			// Down: the old schema has no failed state, so the failed message is
			// kept out of its queue as completed; the pending one stays pending.
			if _, err := p.DownTo(bg, tc.oldVersion); err != nil {
				t.Fatalf("migrate down: %v", err)
			}
			var completed []int64
			rows, err := db.QueryContext(bg, "SELECT id FROM outbox WHERE completed_at IS NOT NULL ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				completed = append(completed, id)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(completed, []int64{failed}) {
				t.Fatalf("completed after down = %v, want the failed message %d", completed, failed)
			}
			if _, err := db.ExecContext(bg, "SELECT failed_at FROM outbox"); err == nil {
				t.Fatal("failed_at still exists after down")
			}
			// And up again.
			s = openTest(t, dsn, Options{})
			if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE failed_at IS NULL"); n != 2 {
				t.Fatalf("%d messages after up again, want 2", n)
			}
		})
	}
}
