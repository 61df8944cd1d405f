package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the prepared statements kept per pool. The store has a few
// dozen queries; the bound only matters if a dynamic shape (multi-row inserts) grew
// without limit.
const maxCachedStmts = 256

// stmtCache keeps the prepared statements of one SQLite pool. modernc.org/sqlite
// compiles every query it is given, and compiling costs more than running most of
// ours; pgx caches prepared statements per connection by itself, so PostgreSQL needs
// no cache.
//
// A statement cannot be prepared on the pool while a transaction holds its only
// connection (the SQLite writer), so a transaction runs an unknown query unprepared
// and records it; the query is prepared once the transaction has ended.
type stmtCache struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement of query, or nil. A nil cache has none.
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[query]
}

// prepare prepares the queries not cached yet. It must not run while the caller holds
// a connection of the pool. Failures are ignored: the query runs unprepared and is
// tried again later.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
	if c == nil {
		return
	}
	for _, q := range queries {
		if c.get(q) != nil {
			continue
		}
		c.mu.RLock()
		full := len(c.stmts) >= maxCachedStmts
		c.mu.RUnlock()
		if full {
			return
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, dup := c.stmts[q]; dup {
			_ = st.Close()
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
}

// runner runs queries written with "?" placeholders in a transaction or, when tx is
// nil, on the pool, through prepared statements when it can.
type runner struct {
	d     *dialect
	db    *sql.DB
	tx    *sql.Tx
	cache *stmtCache
	// missed are the queries this transaction ran unprepared.
	missed []string
}

// stmt returns the statement to run query with, preparing it on the pool when no
// transaction is involved; nil means "run it unprepared".
func (r *runner) stmt(ctx context.Context, query string) *sql.Stmt {
	st := r.cache.get(query)
	if st == nil && r.cache != nil {
		if r.tx != nil {
			r.missed = append(r.missed, query)
			return nil
		}
		r.cache.prepare(ctx, []string{query})
		st = r.cache.get(query)
	}
	if st != nil && r.tx != nil {
		return r.tx.StmtContext(ctx, st)
	}
	return st
}

func (r *runner) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = r.d.q(query)
	if st := r.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.ExecContext(ctx, query, args...)
	}
	return r.db.ExecContext(ctx, query, args...)
}

func (r *runner) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = r.d.q(query)
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryContext(ctx, query, args...)
	}
	return r.db.QueryContext(ctx, query, args...)
}

func (r *runner) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = r.d.q(query)
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryRowContext(ctx, query, args...)
	}
	return r.db.QueryRowContext(ctx, query, args...)
}

// querier is what reads need: a runner on a transaction or on the reader pool.
type querier interface {
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// pool returns a runner on the reader pool.
func (s *Store) pool() *runner {
	return &runner{d: s.d, db: s.reader, cache: s.readStmts}
}
