package sqlstore

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
	"github.com/studio-operator/studio-operator/internal/store/pgtest"
)

// TestOutboxInvitationMigration opens a database that an older store migrated (before
// outbox.invitation_id existed) and holds a pending invitation with its mail: Open
// adds the column and its indexes; the old invitation shows no delivery and never
// counts as undeliverable, since its mail cannot be told apart; a new invitation is
// linked to its mail. Down drops the column and indexes, and up again works.
func TestOutboxInvitationMigration(t *testing.T) {
	cases := map[string]struct {
		dsn        func(t *testing.T) string // an empty database
		oldVersion int64                     // the last migration before invitation_id
		indexQuery string                    // the names of the outbox indexes
	}{
		"sqlite": {
			dsn:        func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "old.db") },
			oldVersion: 3,
			indexQuery: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' AND sql IS NOT NULL ORDER BY name",
		},
		"postgres": {
			dsn:        func(t *testing.T) string { return pgtest.Start(t) },
			oldVersion: 4,
			indexQuery: "SELECT indexname FROM pg_indexes WHERE tablename = 'outbox' AND indexname <> 'outbox_pkey' AND indexname NOT LIKE '%message_id%' ORDER BY indexname",
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
			clock := conformance.NewClock(conformance.Start)
			now := clock.Now()
			// What the older store wrote for an invitation: the user, the invitation
			// and its mail, with nothing linking the mail to the invitation.
			for _, stmt := range []struct {
				query string
				args  []any
			}{
				{"INSERT INTO users (key, email, email_norm, display_name, type, locale, suspended, lifecycle, created_at, updated_at) VALUES ('alice', 'alice@example.com', 'alice@example.com', 'Alice', 'User', 'en', ?, 'Invited', ?, ?)",
					[]any{false, micros(now), micros(now)}},
				{"INSERT INTO invitations (id, user_key, token_hash, status, send_count, sent_at, expires_at) VALUES ('old-invitation', 'alice', 'old-hash', 'pending', 1, ?, ?)",
					[]any{micros(now), micros(now.Add(time.Hour))}},
				{"INSERT INTO outbox (message_id, user_key, to_addr, subject, text_body, html_body, created_at, next_attempt_at) VALUES ('<old@studio.example.test>', 'alice', 'alice@example.com', 'Invitation', 'text', 'html', ?, ?)",
					[]any{micros(now), micros(now)}},
			} {
				if _, err := db.ExecContext(bg, d.q(stmt.query), stmt.args...); err != nil {
					t.Fatalf("write old rows: %v", err)
				}
			}
			indexes := func(t *testing.T) []string {
				t.Helper()
				rows, err := db.QueryContext(bg, tc.indexQuery)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for rows.Next() {
					var n string
					if err := rows.Scan(&n); err != nil {
						t.Fatal(err)
					}
					out = append(out, n)
				}
				if err := errors.Join(rows.Err(), rows.Close()); err != nil {
					t.Fatal(err)
				}
				return out
			}
			oldIndexes := indexes(t)

			// Reopening runs the new migration.
			s, err := Open(bg, dsn, Options{Clock: clock.Now, InvitationTTL: time.Hour})
			if err != nil {
				t.Fatalf("Open on the old schema: %v", err)
			}
			wantIndexes := append([]string{"outbox_failed_user", "outbox_invitation"}, oldIndexes...)
			slices.Sort(wantIndexes)
			if diff := cmp.Diff(wantIndexes, indexes(t)); diff != "" {
				t.Fatalf("outbox indexes after the migration (-want +got):\n%s", diff)
			}
			inv, err := s.GetInvitation(bg, "alice")
			if err != nil || inv.State != store.InvitationPending || inv.Delivery != nil {
				t.Fatalf("old invitation = %+v, %v; want Pending without delivery", inv, err)
			}
			// The old mail is still delivered as before; dead-lettering it says
			// nothing about an invitation.
			old := claimIDs(t, s, now)
			if len(old) != 1 {
				t.Fatalf("claimed %v, want the old mail", old)
			}
			if err := s.FailOutbox(bg, old[0], now, "permanent (smtp 550): no"); err != nil {
				t.Fatal(err)
			}
			if inv, err := s.GetInvitation(bg, "alice"); err != nil || inv.Delivery != nil {
				t.Fatalf("old invitation after its mail failed = %+v, %v; want no delivery", inv, err)
			}
			if page, err := s.ListUndeliverable(bg, store.UndeliverableFilter{}); err != nil || len(page.Items) != 0 {
				t.Fatalf("ListUndeliverable = %+v, %v; want nothing: the old mail is not linked", page, err)
			}
			// A new invitation is linked to its mail.
			clock.Advance(time.Minute)
			sent, err := s.SendInvitation(bg, testCaller, "alice", "")
			if err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM outbox o JOIN invitations i ON i.id = o.invitation_id WHERE i.send_count = 2"); n != 1 {
				t.Fatalf("%d mails linked to the new invitation, want 1", n)
			}
			mail := claimIDs(t, s, clock.Now())
			if len(mail) != 1 {
				t.Fatalf("claimed %v, want the new mail", mail)
			}
			if err := s.FailOutbox(bg, mail[0], clock.Now(), "temporary (network): connection refused"); err != nil {
				t.Fatal(err)
			}
			page, err := s.ListUndeliverable(bg, store.UndeliverableFilter{})
			if err != nil {
				t.Fatal(err)
			}
			want := []store.UndeliverableInvitation{{User: "alice", SentAt: *sent.SentAt, ReplyClass: "network temporary"}}
			if diff := cmp.Diff(want, page.Items); diff != "" {
				t.Fatalf("undeliverable after the new mail failed (-want +got):\n%s", diff)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			// Down: the column and its indexes go; the old store's writes work.
			if _, err := p.DownTo(bg, tc.oldVersion); err != nil {
				t.Fatalf("migrate down: %v", err)
			}
			if _, err := db.ExecContext(bg, "SELECT invitation_id FROM outbox"); err == nil {
				t.Fatal("invitation_id still exists after down")
			}
			if diff := cmp.Diff(oldIndexes, indexes(t)); diff != "" {
				t.Fatalf("outbox indexes after down (-old +got):\n%s", diff)
			}
			if _, err := db.ExecContext(bg, d.q("INSERT INTO outbox (message_id, user_key, to_addr, subject, text_body, html_body, created_at, next_attempt_at) VALUES ('<old-2@studio.example.test>', 'alice', 'alice@example.com', 'Invitation', 'text', 'html', ?, ?)"),
				micros(now), micros(now)); err != nil {
				t.Fatalf("old store's outbox write after down: %v", err)
			}
			// And up again: the links are gone with the column, so nothing shows a
			// delivery or is listed.
			s = openTest(t, dsn, Options{Clock: clock.Now, InvitationTTL: time.Hour})
			if inv, err := s.GetInvitation(bg, "alice"); err != nil || inv.Delivery != nil {
				t.Fatalf("invitation after down and up = %+v, %v; want no delivery", inv, err)
			}
			if page, err := s.ListUndeliverable(bg, store.UndeliverableFilter{}); err != nil || len(page.Items) != 0 {
				t.Fatalf("ListUndeliverable after down and up = %+v, %v; want nothing", page, err)
			}
		})
	}
}

// TestDeliveryQueriesUseTheirIndexes checks the plans of the delivery queries on a
// store with many pending invitations whose mail was delivered and a few whose mail
// failed: a page of ListUndeliverable is driven by the partial index of failed
// invitation mail (it costs what failed, not what was sent), and an invitation finds
// its mail through outbox_invitation.
func TestDeliveryQueriesUseTheirIndexes(t *testing.T) {
	const (
		invitations = 5000
		failEvery   = 1000 // one mail in failEvery failed
	)
	queries := map[string]struct {
		query string
		args  []any
		index string
	}{
		"ListUndeliverable": {
			query: undeliverableQuery, args: []any{"", invitationPending, micros(conformance.Start), 101}, index: "outbox_failed_user",
		},
		"GetInvitation": {
			query: "SELECT " + invitationDeliveryColumns + " FROM invitations i " + joinDelivery + " WHERE i.user_key = ? ORDER BY i.send_count DESC LIMIT 1",
			args:  []any{"user-42"}, index: "outbox_invitation",
		},
	}
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		// Both dialects count with the same recursive common table expression.
		const series = "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) "
		far := micros(conformance.Start.AddDate(1, 0, 0))
		for _, stmt := range []struct {
			query string
			args  []any
		}{
			{"INSERT INTO users (key, email, email_norm, display_name, type, locale, suspended, lifecycle, created_at, updated_at) " +
				series + "SELECT 'user-' || n, 'u' || n || '@example.com', 'u' || n || '@example.com', 'U', 'User', 'en', ?, 'Invited', 0, 0 FROM g",
				[]any{invitations, false}},
			{"INSERT INTO invitations (id, user_key, token_hash, status, send_count, sent_at, expires_at) " +
				series + "SELECT 'inv-' || n, 'user-' || n, 'hash-' || n, 'pending', 1, 0, ? FROM g",
				[]any{invitations, far}},
			{"INSERT INTO outbox (message_id, user_key, invitation_id, to_addr, subject, text_body, html_body, attempts, created_at, next_attempt_at, completed_at, failed_at, last_error) " +
				series + "SELECT '<' || n || '@studio.example.test>', 'user-' || n, 'inv-' || n, '', 'Invitation', '', '', 1, 0, 0, " +
				"CASE WHEN n % ? = 0 THEN NULL ELSE 1 END, CASE WHEN n % ? = 0 THEN 1 ELSE NULL END, " +
				"CASE WHEN n % ? = 0 THEN 'permanent (smtp 550): no' ELSE '' END FROM g",
				[]any{invitations, failEvery, failEvery, failEvery}},
			{"ANALYZE", nil},
		} {
			if _, err := s.writer.ExecContext(bg, s.d.q(stmt.query), stmt.args...); err != nil {
				t.Fatalf("seed: %v", err)
			}
		}
		page, err := s.ListUndeliverable(bg, store.UndeliverableFilter{})
		if err != nil || len(page.Items) != invitations/failEvery {
			t.Fatalf("ListUndeliverable = %d items, %v; want %d", len(page.Items), err, invitations/failEvery)
		}

		explain := "EXPLAIN QUERY PLAN "
		if s.d == postgresDialect {
			explain = "EXPLAIN "
		}
		for name, q := range queries {
			plan := explainPlan(t, s, explain+s.d.q(q.query), q.args...)
			if !strings.Contains(strings.Join(plan, "\n"), q.index) {
				t.Errorf("%s does not use %s:\n%s", name, q.index, strings.Join(plan, "\n"))
			}
		}
		// The listing starts from the failed mail: in the plan the partial index
		// comes before (outside) any scan of invitations, which is only probed.
		plan := explainPlan(t, s, explain+s.d.q(undeliverableQuery), queries["ListUndeliverable"].args...)
		failedAt, invitationsAt := -1, -1
		for i, line := range plan {
			if failedAt < 0 && strings.Contains(line, "outbox_failed_user") {
				failedAt = i
			}
			if invitationsAt < 0 && (strings.Contains(line, " on invitations") || strings.Contains(line, "SEARCH i ") || strings.Contains(line, "SCAN i")) {
				invitationsAt = i
			}
		}
		if failedAt < 0 || invitationsAt < failedAt {
			t.Errorf("ListUndeliverable is not driven by outbox_failed_user:\n%s", strings.Join(plan, "\n"))
		}
	})
}

// explainPlan runs an EXPLAIN statement and returns the plan's lines (the last column
// of each row, which holds the text in both dialects).
func explainPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.writer.QueryContext(bg, query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		switch v := vals[len(vals)-1].(type) {
		case string:
			plan = append(plan, v)
		case []byte:
			plan = append(plan, string(v))
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	return plan
}
