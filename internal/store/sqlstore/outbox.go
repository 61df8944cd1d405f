package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// outboxPartition is the committer partition of outbox writes.
const outboxPartition = "outbox"

// maxClaim bounds one ClaimOutbox.
const maxClaim = 100

// maxErrorLength bounds the last_error kept per message.
const maxErrorLength = 500

const msgClaimLimit = "must be between 1 and 100"

// ClaimOutbox leases up to limit messages that are due at now, not leased, and
// neither completed nor failed. The lease is claimed_until = now + lease: a worker
// that crashes loses it when it runs out. On PostgreSQL, SKIP LOCKED lets several
// workers claim different messages.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]store.OutboxMessage, error) {
	if limit < 1 || limit > maxClaim {
		return nil, store.Errorf(store.CodeInvalid, "limit", msgClaimLimit)
	}
	var out []store.OutboxMessage
	err := s.write(ctx, store.Caller{}, outboxPartition, func(ctx context.Context, t *writeTx) error {
		out = nil
		t.wrote = true
		rows, err := t.query(ctx, "UPDATE outbox SET claimed_until = ? WHERE id IN ("+
			"SELECT id FROM outbox WHERE completed_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? AND claimed_until <= ? ORDER BY id LIMIT ?"+s.d.skipLocked+
			") RETURNING id, message_id, to_addr, subject, text_body, html_body, attempts, created_at",
			micros(now.Add(lease)), micros(now), micros(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m store.OutboxMessage
			var created int64
			if err := rows.Scan(&m.ID, &m.MessageID, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Attempts, &created); err != nil {
				return err
			}
			m.CreatedAt = fromMicros(created)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.OutboxMessage) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CompleteOutbox marks a message delivered and drops its recipient and body: the body
// holds the invitation link, which must not outlive its delivery. Completing a
// completed or failed message does nothing.
func (s *Store) CompleteOutbox(ctx context.Context, id int64, at time.Time) error {
	return s.write(ctx, store.Caller{}, outboxPartition, func(ctx context.Context, t *writeTx) error {
		n, err := t.execRows(ctx, "UPDATE outbox SET completed_at = ?, claimed_until = 0, to_addr = '', text_body = '', html_body = '' WHERE id = ? AND completed_at IS NULL AND failed_at IS NULL",
			micros(at), id)
		if err != nil || n == 1 {
			return err
		}
		return t.outboxExists(ctx, id)
	})
}

// RetryOutbox records a failed delivery: one more attempt, the next one not before
// next, and the reason with addresses and links redacted. Retrying a completed or
// failed message does nothing.
func (s *Store) RetryOutbox(ctx context.Context, id int64, next time.Time, reason string) error {
	return s.write(ctx, store.Caller{}, outboxPartition, func(ctx context.Context, t *writeTx) error {
		n, err := t.execRows(ctx, "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, claimed_until = 0, last_error = ? WHERE id = ? AND completed_at IS NULL AND failed_at IS NULL",
			micros(next), redactError(reason), id)
		if err != nil || n == 1 {
			return err
		}
		return t.outboxExists(ctx, id)
	})
}

// FailOutbox dead-letters a message: failed_at keeps it from ever being claimed
// again, the attempt and its redacted reason are recorded as by RetryOutbox, and the
// recipient and bodies are dropped as by CompleteOutbox (the body holds the link).
// The row itself stays, so that the failure can be looked into. Failing a completed
// or failed message does nothing.
func (s *Store) FailOutbox(ctx context.Context, id int64, at time.Time, reason string) error {
	return s.write(ctx, store.Caller{}, outboxPartition, func(ctx context.Context, t *writeTx) error {
		n, err := t.execRows(ctx, "UPDATE outbox SET failed_at = ?, attempts = attempts + 1, claimed_until = 0, last_error = ?, "+
			"to_addr = '', text_body = '', html_body = '' WHERE id = ? AND completed_at IS NULL AND failed_at IS NULL",
			micros(at), redactError(reason), id)
		if err != nil || n == 1 {
			return err
		}
		return t.outboxExists(ctx, id)
	})
}

// ReleaseOutbox ends the lease of the given messages that are still held by the
// claim that set claimedUntil and were neither completed nor failed. Attempts and
// the next attempt time are unchanged: a released message was not tried.
func (s *Store) ReleaseOutbox(ctx context.Context, ids []int64, claimedUntil time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if len(ids) > maxClaim {
		return 0, store.Errorf(store.CodeInvalid, "ids", msgClaimLimit)
	}
	var released int
	err := s.write(ctx, store.Caller{}, outboxPartition, func(ctx context.Context, t *writeTx) error {
		released = 0
		for _, id := range ids {
			n, err := t.execRows(ctx, "UPDATE outbox SET claimed_until = 0 WHERE id = ? AND claimed_until = ? AND completed_at IS NULL AND failed_at IS NULL",
				id, micros(claimedUntil))
			if err != nil {
				return err
			}
			released += int(n)
		}
		return nil
	})
	return released, err
}

// outboxExists is nil for an existing message, CodeNotFound otherwise.
func (t *writeTx) outboxExists(ctx context.Context, id int64) error {
	var one int
	err := t.queryRow(ctx, "SELECT 1 FROM outbox WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Errorf(store.CodeNotFound, "", msgOutboxNotFound)
	}
	return err
}

var (
	urlPattern   = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://\S+`)
	emailPattern = regexp.MustCompile(`[^\s<>()"',;:]+@[^\s<>()"',;:]+`)
	invitePath   = regexp.MustCompile(`/invite/\S+`)
)

// redactError removes what must not be kept from a delivery error: URLs (a link may
// hold a token), invitation paths and email addresses; and bounds its length.
func redactError(reason string) string {
	reason = urlPattern.ReplaceAllString(reason, "[url]")
	reason = invitePath.ReplaceAllString(reason, "/invite/[token]")
	reason = emailPattern.ReplaceAllString(reason, "[email]")
	if r := []rune(reason); len(r) > maxErrorLength {
		reason = string(r[:maxErrorLength])
	}
	return reason
}
