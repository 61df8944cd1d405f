package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// maxWriteAttempts bounds how often a write that lost a race is run again.
const maxWriteAttempts = 6

// writeFunc is the body of a write: it reads and changes data through t and records
// audit entries. It may run more than once (retries), so it must assign its results
// afresh each time. It must not return a *store.Error after having written: such
// refusals are checked before anything is changed, which lets a batch go on without
// the refused write.
type writeFunc func(ctx context.Context, t *writeTx) error

// writeTx is one write inside a transaction (which it may share with other writes of
// a batch): its time, its caller and the audit entries it will append.
type writeTx struct {
	*runner
	s       *Store
	now     time.Time
	caller  store.Caller
	wrote   bool
	entries []auditEntry
}

// exec runs a statement that changes data.
func (t *writeTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.wrote = true
	return t.runner.exec(ctx, query, args...)
}

// execRows runs a statement that changes data and reports how many rows it changed.
func (t *writeTx) execRows(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// forUpdate is the dialect's row-lock suffix for a SELECT.
func (t *writeTx) forUpdate() string { return t.s.d.forUpdate }

// record queues an audit entry of this transaction; it is written, with the caller's
// identity, when the transaction commits.
func (t *writeTx) record(e auditEntry) {
	e.at = t.now
	e.actor, e.onBehalfOf, e.source = t.caller.Actor, t.caller.OnBehalfOf, t.caller.Source
	t.entries = append(t.entries, e)
}

// write runs fn in a write transaction and commits what it wrote together with its
// audit entries. If fn wrote nothing and recorded nothing, nothing is written: a no-op
// leaves no trace. partition names the record fn changes first (e.g. "user/alice"):
// writes of one partition are committed in the order they arrive.
func (s *Store) write(ctx context.Context, c store.Caller, partition string, fn writeFunc) error {
	if s.committer == nil {
		return s.writeAlone(ctx, c, fn)
	}
	return s.committer.submit(ctx, &writeRequest{ctx: ctx, caller: c, fn: fn}, partition)
}

// writeGrants runs a PutGrants. It is a write like any other, except that the
// committer can see what it asks for: on PostgreSQL a batch of them runs pipelined
// (grants_pipeline.go) instead of statement by statement.
func (s *Store) writeGrants(ctx context.Context, c store.Caller, req *grantRequest) error {
	fn := putGrantsTx(req)
	if s.committer == nil {
		return s.writeAlone(ctx, c, fn)
	}
	return s.committer.submit(ctx, &writeRequest{ctx: ctx, caller: c, fn: fn, grants: req}, userTarget(req.key))
}

// writeAlone runs fn in a transaction of its own; a transaction that lost a race is
// run again.
func (s *Store) writeAlone(ctx context.Context, c store.Caller, fn writeFunc) error {
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, c, fn)
		var se *store.Error
		if err == nil || errors.As(err, &se) {
			return err
		}
		if classify(err) != classRetry || attempt == maxWriteAttempts || ctx.Err() != nil {
			return mapError(err)
		}
		s.log.Debug("write lost a race; retrying", "attempt", attempt)
		select {
		case <-ctx.Done():
			return mapError(ctx.Err())
		case <-time.After(time.Duration(attempt) * time.Duration(1+rand.IntN(3)) * time.Millisecond):
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, c store.Caller, fn writeFunc) (err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	t := &writeTx{runner: &runner{d: s.d, db: s.writer, tx: tx, cache: s.writeStmts}, s: s, now: s.now(), caller: c}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
		// The connection is free again: prepare what ran unprepared.
		s.writeStmts.prepare(ctx, t.missed)
	}()
	if err := fn(ctx, t); err != nil {
		return err
	}
	if !t.wrote && len(t.entries) == 0 {
		done = true
		return tx.Rollback()
	}
	if err := appendAudit(ctx, t.runner, t.entries); err != nil {
		return err
	}
	done = true
	return tx.Commit()
}

// read runs fn in a read-only snapshot, so that several queries see one state.
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d == postgresDialect {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.reader.BeginTx(ctx, opts)
	if err != nil {
		return mapError(err)
	}
	r := &runner{d: s.d, db: s.reader, tx: tx, cache: s.readStmts}
	defer func() {
		_ = tx.Rollback()
		s.readStmts.prepare(ctx, r.missed)
	}()
	if err := fn(r); err != nil {
		return mapError(err)
	}
	return nil
}
