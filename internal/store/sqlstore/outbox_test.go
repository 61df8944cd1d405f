package sqlstore

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
)

// invite sends invitations to n users, so the outbox holds n messages.
func invite(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		key := fmt.Sprintf("user-%d", i)
		if _, _, err := s.PutUser(bg, testCaller, key, store.UserSpec{Email: key + "@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendInvitation(bg, testCaller, key, ""); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(msgs []store.OutboxMessage) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func TestOutboxLeases(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		invite(t, s, 3)
		now := conformance.Start
		first, err := s.ClaimOutbox(bg, now, 2, time.Minute)
		if err != nil || len(first) != 2 || first[0].ID >= first[1].ID {
			t.Fatalf("first claim = %v, %v; want the 2 oldest", ids(first), err)
		}
		second, err := s.ClaimOutbox(bg, now.Add(time.Second), 10, time.Minute)
		if err != nil || len(second) != 1 || second[0].ID == first[0].ID || second[0].ID == first[1].ID {
			t.Fatalf("second claim = %v, %v; want only the unleased message", ids(second), err)
		}
		none, err := s.ClaimOutbox(bg, now.Add(30*time.Second), 10, time.Minute)
		if err != nil || len(none) != 0 {
			t.Fatalf("claim while everything is leased = %v, %v", ids(none), err)
		}
		// A crashed worker's lease runs out.
		again, err := s.ClaimOutbox(bg, now.Add(time.Minute), 10, time.Minute)
		if err != nil || len(again) != 2 {
			t.Fatalf("claim after the first lease ran out = %v, %v; want the first 2 again", ids(again), err)
		}
		_, err = s.ClaimOutbox(bg, now, 0, time.Minute)
		expectStoreCode(t, err, store.CodeInvalid)
	})
}

func TestOutboxCompleteAndRetry(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		invite(t, s, 2)
		now := conformance.Start
		msgs, err := s.ClaimOutbox(bg, now, 10, time.Minute)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("claim = %v, %v", ids(msgs), err)
		}
		done, failed := msgs[0], msgs[1]

		if err := s.CompleteOutbox(bg, done.ID, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteOutbox(bg, done.ID, now.Add(2*time.Second)); err != nil {
			t.Fatalf("completing twice: %v; want a no-op", err)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE id = ? AND text_body = '' AND html_body = '' AND to_addr = '' AND completed_at IS NOT NULL", done.ID); n != 1 {
			t.Fatal("a delivered message keeps its body (and link) or recipient")
		}

		reason := "550 mailbox alice@example.com unavailable; see https://studio.example.test/invite/abcdef123 " + strings.Repeat("x", 600)
		if err := s.RetryOutbox(bg, failed.ID, now.Add(10*time.Minute), reason); err != nil {
			t.Fatal(err)
		}
		var lastError string
		var attempts int
		if err := s.writer.QueryRowContext(bg, s.d.q("SELECT last_error, attempts FROM outbox WHERE id = ?"), failed.ID).Scan(&lastError, &attempts); err != nil {
			t.Fatal(err)
		}
		if attempts != 1 || strings.Contains(lastError, "alice@") || strings.Contains(lastError, "abcdef123") || len(lastError) > maxErrorLength {
			t.Fatalf("after a retry: attempts %d, last_error %q; want 1 and no address, link or overflow", attempts, lastError)
		}
		// The retried message is due again only at its next attempt; the delivered one never.
		if got, _ := s.ClaimOutbox(bg, now.Add(5*time.Minute), 10, time.Minute); len(got) != 0 {
			t.Fatalf("claim before the next attempt = %v", ids(got))
		}
		got, err := s.ClaimOutbox(bg, now.Add(10*time.Minute), 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].ID != failed.ID || got[0].Attempts != 1 || got[0].MessageID != failed.MessageID {
			t.Fatalf("claim at the next attempt = %+v, %v; want the retried message, same Message-ID, 1 attempt", got, err)
		}

		expectStoreCode(t, s.CompleteOutbox(bg, 9999, now), store.CodeNotFound)
		expectStoreCode(t, s.RetryOutbox(bg, 9999, now, "x"), store.CodeNotFound)
	})
}

func TestOutboxWorkersClaimDisjointMessages(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		invite(t, s, 12)
		var mu sync.Mutex
		claimed := map[int64]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				msgs, err := s.ClaimOutbox(bg, conformance.Start, 3, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, m := range msgs {
					claimed[m.ID]++
				}
			})
		}
		wg.Wait()
		if len(claimed) != 12 {
			t.Fatalf("4 workers claiming 3 each got %d distinct messages, want 12", len(claimed))
		}
		for id, n := range claimed {
			if n != 1 {
				t.Fatalf("message %d claimed %d times", id, n)
			}
		}
	})
}

func TestRedactError(t *testing.T) {
	for in, want := range map[string]string{
		"dial tcp 10.0.0.1:25: connection refused":            "dial tcp 10.0.0.1:25: connection refused",
		"550 <bob@example.com>: no such user":                 "550 <[email]>: no such user",
		"body had https://x.test/invite/TOKEN in it":          "body had [url] in it",
		"path /invite/TOKEN leaked":                           "path /invite/[token] leaked",
		"RCPT TO:bob.smith+tag@mail.example.org rejected 5.1": "RCPT TO:[email] rejected 5.1",
	} {
		if got := redactError(in); got != want {
			t.Errorf("redactError(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOutboxReleaseGivesBackOnlyItsOwnClaim(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		invite(t, s, 3)
		now := conformance.Start
		first, err := s.ClaimOutbox(bg, now, 10, time.Minute)
		if err != nil || len(first) != 3 {
			t.Fatalf("claim = %v, %v; want all 3", ids(first), err)
		}
		if err := s.CompleteOutbox(bg, first[0].ID, now); err != nil {
			t.Fatal(err)
		}
		// The completed message is not released; the two unsent ones are.
		n, err := s.ReleaseOutbox(bg, ids(first), now.Add(time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("ReleaseOutbox = %d, %v; want 2", n, err)
		}
		again, err := s.ClaimOutbox(bg, now.Add(time.Second), 10, time.Minute)
		if err != nil || len(again) != 2 || again[0].Attempts != 0 {
			t.Fatalf("claim after the release = %v, %v; want the 2 unsent, untried", ids(again), err)
		}
		// A stale release (the first claim's lease) leaves the new claim alone.
		n, err = s.ReleaseOutbox(bg, ids(again), now.Add(time.Minute))
		if err != nil || n != 0 {
			t.Fatalf("stale ReleaseOutbox = %d, %v; want 0", n, err)
		}
		if none, err := s.ClaimOutbox(bg, now.Add(2*time.Second), 10, time.Minute); err != nil || len(none) != 0 {
			t.Fatalf("claim while the second claim holds them = %v, %v", ids(none), err)
		}
		if n, err := s.ReleaseOutbox(bg, nil, now); err != nil || n != 0 {
			t.Fatalf("ReleaseOutbox of nothing = %d, %v", n, err)
		}
	})
}
