package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// auditEntry is one audit entry being written. user, agency and environment say what
// the entry is about, for ListAudit's filters.
type auditEntry struct {
	action  string
	target  string
	details map[string]any

	user        string
	agency      string
	environment string

	at                        time.Time
	actor, onBehalfOf, source string
}

// Audit targets.
func userTarget(key string) string        { return "user/" + key }
func agencyTarget(key string) string      { return "agency/" + key }
func environmentTarget(key string) string { return "environment/" + key }

// auditColumns is the number of columns an audit row inserts.
const auditColumns = 13

// auditBatch bounds the rows of one INSERT (statement parameters are limited).
const auditBatch = 200

// auditRow is an audit entry as stored: chained to its predecessor.
type auditRow struct {
	seq                                                int64
	at                                                 int64
	actor, onBehalfOf, source, action, target, details string
	user, agency, environment                          string
	prevHash, hash                                     string
}

// chainEntries places entries after the chain head (seq, hash): it numbers them, hashes
// them and returns the stored rows. The last row is the new head.
func chainEntries(seq int64, hash string, entries []auditEntry) ([]auditRow, error) {
	out := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		details, err := marshalDetails(e.details)
		if err != nil {
			return nil, err
		}
		seq++
		next, err := chainHash(hash, seq, e.at, e.actor, e.onBehalfOf, e.source, e.action, e.target, details)
		if err != nil {
			return nil, err
		}
		out = append(out, auditRow{seq: seq, at: micros(e.at), actor: e.actor, onBehalfOf: e.onBehalfOf, source: e.source,
			action: e.action, target: e.target, details: details, user: e.user, agency: e.agency, environment: e.environment,
			prevHash: hash, hash: next})
		hash = next
	}
	return out, nil
}

// appendAudit writes a transaction's queued entries at the end of the chain. It locks
// the chain head, so concurrent transactions append one after the other and seq stays
// gap-free; it runs last, just before commit, to hold that lock briefly.
func appendAudit(ctx context.Context, r *runner, entries []auditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var seq int64
	var hash string
	if err := r.queryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1"+r.d.forUpdate).Scan(&seq, &hash); err != nil {
		return err
	}
	chained, err := chainEntries(seq, hash, entries)
	if err != nil {
		return err
	}
	head := chained[len(chained)-1]
	seq, hash = head.seq, head.hash
	args := make([]any, 0, len(chained)*auditColumns)
	for _, a := range chained {
		args = append(args, a.seq, a.at, a.actor, a.onBehalfOf, a.source, a.action, a.target, a.details,
			a.user, a.agency, a.environment, a.prevHash, a.hash)
	}
	const insert = "INSERT INTO audit (seq, at, actor, on_behalf_of, source, action, target, details, user_key, agency_key, environment_key, prev_hash, hash) VALUES "
	const updateHead = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"
	rows := len(chained)
	for start := 0; start < rows; start += auditBatch {
		n := min(auditBatch, rows-start)
		chunk := args[start*auditColumns : (start+n)*auditColumns]
		last := start+n == rows
		if last && r.d == postgresDialect {
			// One round trip for the last rows and the head: the lock is held shorter.
			chunk = append(chunk, seq, hash)
			if _, err := r.exec(ctx, "WITH appended AS ("+insert+placeholders(n, auditColumns)+") "+updateHead, chunk...); err != nil {
				return err
			}
			return nil
		}
		if _, err := r.exec(ctx, insert+placeholders(n, auditColumns), chunk...); err != nil {
			return err
		}
	}
	_, err = r.exec(ctx, updateHead, seq, hash)
	return err
}

// Page sizes of the list endpoints.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// pageSize validates a requested page size: 0 means the default, larger than the
// maximum means the maximum.
func pageSize(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, store.Errorf(store.CodeInvalid, "limit", "must not be negative")
	case limit == 0:
		return defaultPageSize, nil
	case limit > maxPageSize:
		return maxPageSize, nil
	}
	return limit, nil
}

// ListAudit returns audit entries in seq order between f.After and f.Before (newest
// first with f.Desc), optionally only those about a user, an agency (its own entries,
// its environments' and grants at those scopes) or an environment, or by an actor.
// Each filter reads its own index in either direction, so the newest page of the log
// costs what the oldest does.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) (store.AuditPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.AuditPage{}, err
	}
	if f.After < 0 {
		return store.AuditPage{}, store.Errorf(store.CodeInvalid, "after", "must not be negative")
	}
	if f.Before < 0 {
		return store.AuditPage{}, store.Errorf(store.CodeInvalid, "before", "must not be negative")
	}
	conds := []string{"seq > ?"}
	args := []any{f.After}
	if f.Before > 0 {
		conds = append(conds, "seq < ?")
		args = append(args, f.Before)
	}
	for _, c := range []struct{ col, val string }{
		{"user_key", f.User}, {"agency_key", f.Agency}, {"environment_key", f.Environment},
	} {
		if c.val != "" {
			// "<> ''" repeats the condition of the partial indexes audit_user,
			// audit_agency and audit_environment: SQLite uses one only when the query
			// implies it, which a bound value does not.
			conds = append(conds, c.col+" = ? AND "+c.col+" <> ''")
			args = append(args, c.val)
		}
	}
	if f.Actor != "" {
		conds = append(conds, "actor = ?") // index audit_actor
		args = append(args, f.Actor)
	}
	order := "seq"
	if f.Desc {
		order = "seq DESC"
	}
	args = append(args, limit+1)
	query := "SELECT seq, at, actor, on_behalf_of, source, action, target, details, hash FROM audit WHERE " +
		strings.Join(conds, " AND ") + " ORDER BY " + order + " LIMIT ?"
	rows, err := s.pool().query(ctx, query, args...)
	if err != nil {
		return store.AuditPage{}, mapError(err)
	}
	defer rows.Close()
	page := store.AuditPage{Entries: []store.AuditEntry{}}
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		var details string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.OnBehalfOf, &e.Source, &e.Action, &e.Target, &details, &e.Hash); err != nil {
			return store.AuditPage{}, mapError(err)
		}
		e.Time = fromMicros(at)
		e.Details = map[string]any{}
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			// A row damaged outside the store; VerifyAudit reports it. Show what is there.
			e.Details = map[string]any{"unreadable": true}
		}
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return store.AuditPage{}, mapError(err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		next := page.Entries[limit-1].Seq
		page.Next = &next
	}
	return page, nil
}

// VerifyAudit re-walks the whole hash chain in one snapshot.
func (s *Store) VerifyAudit(ctx context.Context) (store.AuditVerification, error) {
	var out store.AuditVerification
	err := s.read(ctx, func(q querier) error {
		var headSeq int64
		var headHash string
		if err := q.queryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&headSeq, &headHash); err != nil {
			return err
		}
		v := &chainVerifier{hashExists: func(hash string) (bool, error) {
			var seq int64
			err := q.queryRow(ctx, "SELECT seq FROM audit WHERE hash = ?", hash).Scan(&seq)
			if err == sql.ErrNoRows {
				return false, nil
			}
			return err == nil, err
		}}
		// The rows are read fully before verifying: a failure's look-up needs the
		// connection, which a pending result set holds on some drivers.
		var after int64
		for {
			batch, err := s.chainRows(ctx, q, after)
			if err != nil {
				return err
			}
			for _, r := range batch {
				if err := v.add(r); err != nil {
					return err
				}
			}
			if len(batch) < chainBatch {
				break
			}
			after = batch[len(batch)-1].Seq
		}
		v.finish(headSeq, headHash)
		out = store.AuditVerification{OK: v.firstBad == nil, Entries: v.entries, FirstBad: v.firstBad, Problem: v.problem}
		return nil
	})
	return out, err
}

// chainBatch is how many audit rows VerifyAudit reads at a time.
const chainBatch = 2000

func (s *Store) chainRows(ctx context.Context, q querier, after int64) ([]chainRow, error) {
	rows, err := q.query(ctx,
		"SELECT seq, at, actor, on_behalf_of, source, action, target, details, prev_hash, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
		after, chainBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chainRow
	for rows.Next() {
		var r chainRow
		var at int64
		if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.OnBehalfOf, &r.Source, &r.Action, &r.Target, &r.Details, &r.PrevHash, &r.Hash); err != nil {
			return nil, err
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
