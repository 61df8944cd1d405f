package sqlstore

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Pipelined grant-set writes on PostgreSQL.
//
// Statement by statement, a grant-set write costs three round trips of its own (lock
// the user, read its grants, apply the difference) and a batch four more; on a small
// machine round trips, not rows, are most of what a PostgreSQL write costs. Here a
// batch of grant-set writes takes two round trips whatever its size, with the same
// guarantees and the same lock order as the generic path (users in key order, then
// the rows the grants reference, then the audit chain head last):
//
//  1. BEGIN; lock every user of the batch (SELECT ... FOR UPDATE, in key order); read
//     their grants; look up the requested scopes. Each read is a statement of its own
//     queued after all the locks, so it starts once they are held and, under READ
//     COMMITTED, sees every write committed before by this process or any other: no
//     lost update.
//  2. Decide every write in Go, in arrival order, each on the state the ones before it
//     left (decideGrants, shared with the generic path), and prepare the audit entries
//     for hashing. Then, in one round trip: write each changed grant row and
//     ownership change (each statement fails unless it changed exactly one row),
//     append the audit entries with audit_append (which locks the chain head, chains
//     the hashes on the server and moves the head), COMMIT. The head is locked only
//     while the server works, never across a round trip.
//
// A refused write (*store.Error) drops out before anything is written; if the
// transaction fails, the committer runs each write again on the generic path, alone,
// which also turns database errors into typed ones.
//
// The statements are small primary-key statements with fixed texts, which pgx
// prepares once per connection, and the transaction asks for generic plans: their
// best plan does not depend on the parameters, and planning them afresh at every
// execution (PostgreSQL's default for the first executions, and for statements over
// arrays) costs more than running them. Needs PostgreSQL 12 or later
// (plan_cache_mode).

const (
	pipeGenericPlans = "SET LOCAL plan_cache_mode = force_generic_plan"
	pipeLockUser     = "SELECT lifecycle, managed_by, grants_by_person FROM users WHERE key = $1 FOR UPDATE"
	// pipeReadGrants looks each environment up by key (a subquery, not a join) so
	// that the plan stays a few index probes whatever the tables hold.
	pipeReadGrants = "SELECT COALESCE(g.agency_key, ''), COALESCE(g.environment_key, ''), g.roles, " +
		"COALESCE((SELECT e.agency FROM environments e WHERE e.key = g.environment_key), '') FROM grants g WHERE g.user_key = $1"
	pipeFindEnvironments = "SELECT key, agency FROM environments WHERE key = ANY($1::text[])"
	pipeFindAgencies     = "SELECT key FROM agencies WHERE key = ANY($1::text[])"
	// The user is locked, so every grant statement changes exactly one row; the
	// deletes and updates say so by dividing by the count of rows they changed, which
	// aborts the transaction (before its COMMIT, queued behind them, runs) if a
	// writer that ignored the lock got in the way. An insert that meets a row fails
	// by itself.
	pipeDeleteGrant = "WITH changed AS (DELETE FROM grants WHERE user_key = $1 AND scope = $2 RETURNING 1) SELECT 1 / count(*) FROM changed"
	pipeUpdateGrant = "WITH changed AS (UPDATE grants SET roles = $3 WHERE user_key = $1 AND scope = $2 RETURNING 1) SELECT 1 / count(*) FROM changed"
	pipeInsertGrant = "INSERT INTO grants (user_key, scope, agency_key, environment_key, roles) VALUES ($1, $2, $3, $4, $5)"
	pipeSetOwner    = "WITH changed AS (UPDATE users SET managed_by = $1, grants_by_person = $2 WHERE key = $3 RETURNING 1) SELECT 1 / count(*) FROM changed"
	// pipeAppendAudit locks the chain head, chains and appends the entries and moves
	// the head, all on the server (migration 00002), so that the head stays locked
	// only until the COMMIT queued behind it.
	pipeAppendAudit = "SELECT audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)

// errNotPgx is the failure when the pool's driver connection is not pgx's.
var errNotPgx = errors.New("postgres connection is not a pgx connection")

// tryGrants runs grant-set writes (on PostgreSQL) in one pipelined transaction. It
// returns each write's refusal (or nil), or an error when the transaction as a whole
// must be given up.
func (s *Store) tryGrants(batch []*writeRequest) ([]error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var results []error
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errNotPgx
		}
		c := sc.Conn()
		var err error
		if results, err = s.pipelineGrants(ctx, c, batch); err == nil {
			return nil
		}
		if c.PgConn().TxStatus() != 'I' {
			// Leave the connection as we found it, or have the pool drop it.
			if _, rbErr := c.Exec(ctx, "ROLLBACK"); rbErr != nil {
				return errors.Join(err, driver.ErrBadConn)
			}
		}
		return err
	})
	return results, err
}

// pipeUser is a user of a pipelined batch: as stored, and as the writes before the
// current one left it.
type pipeUser struct {
	found  bool
	stored userRow
	orig   []storedGrant
	cur    userRow
	grants []storedGrant
}

func (s *Store) pipelineGrants(ctx context.Context, c *pgx.Conn, batch []*writeRequest) ([]error, error) {
	users, refs, err := readGrantBatch(ctx, c, batch)
	if err != nil {
		return nil, err
	}
	if s.afterGrantRead != nil {
		s.afterGrantRead()
	}
	results := make([]error, len(batch))
	var entries []auditEntry
	for i, r := range batch {
		req, u := r.grants, users[r.grants.key]
		if err := checkGrantUser(u.cur, u.found); err != nil {
			results[i] = err
			continue
		}
		own, err := decideOwnership(u.cur.ManagedBy, r.caller.Manager, true)
		if err != nil {
			results[i] = err
			continue
		}
		d, err := decideGrants(req, u.cur, own, u.grants, refs)
		if err != nil {
			results[i] = err
			continue
		}
		req.out = d.out
		if !d.writes() {
			continue
		}
		u.grants = d.apply(req, u.grants, refs)
		if d.setOwner {
			u.cur.ManagedBy, u.cur.grantsByPerson = own.managedBy, own.personFlag()
		}
		now := s.now()
		for _, e := range d.entries {
			e.at, e.actor, e.onBehalfOf, e.source = now, r.caller.Actor, r.caller.OnBehalfOf, r.caller.Source
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		// Every write was a no-op or refused: nothing to write, not even a commit.
		_, err := c.Exec(ctx, "ROLLBACK")
		return results, err
	}
	if err := writeGrantBatch(ctx, c, users, entries); err != nil {
		return nil, err
	}
	return results, nil
}

// readGrantBatch is round trip 1: it opens the transaction, locks the users (in key
// order, as every multi-user write does) and reads their grants and the requested
// scopes.
func readGrantBatch(ctx context.Context, c *pgx.Conn, batch []*writeRequest) (map[string]*pipeUser, scopeRefs, error) {
	users := make(map[string]*pipeUser, len(batch))
	var envs, agencies []string
	for _, r := range batch {
		if _, ok := users[r.grants.key]; !ok {
			users[r.grants.key] = &pipeUser{}
		}
		for _, g := range r.grants.want {
			if g.Scope.Agency != "" {
				agencies = append(agencies, g.Scope.Agency)
			} else {
				envs = append(envs, g.Scope.Environment)
			}
		}
	}
	envs, agencies = slices.Compact(slices.Sorted(slices.Values(envs))), slices.Compact(slices.Sorted(slices.Values(agencies)))
	keys := sortedKeys(users)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(pipeGenericPlans)
	for _, k := range keys {
		b.Queue(pipeLockUser, k)
	}
	// The reads are statements of their own, queued after every lock: each starts
	// once the locks are held, so it sees the last committed grants.
	for _, k := range keys {
		b.Queue(pipeReadGrants, k)
	}
	if len(envs) > 0 {
		b.Queue(pipeFindEnvironments, envs)
	}
	if len(agencies) > 0 {
		b.Queue(pipeFindAgencies, agencies)
	}
	refs := scopeRefs{agencies: map[string]bool{}, environments: map[string]string{}}
	err := runBatch(ctx, c, b, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		if _, err := br.Exec(); err != nil {
			return err
		}
		for _, k := range keys {
			u := users[k]
			u.stored.Key = k
			err := br.QueryRow().Scan(&u.stored.lifecycle, &u.stored.ManagedBy, &u.stored.grantsByPerson)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
			case err != nil:
				return err
			default:
				u.found = true
			}
		}
		for _, k := range keys {
			u := users[k]
			rows, _ := br.Query()
			var g storedGrant
			var roles string
			_, err := pgx.ForEachRow(rows, []any{&g.Scope.Agency, &g.Scope.Environment, &roles, &g.envAgency}, func() error {
				g.user, g.Roles = k, decodeRoles(roles)
				u.orig = append(u.orig, g)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if len(envs) > 0 {
			rows, _ := br.Query()
			var key, agency string
			if _, err := pgx.ForEachRow(rows, []any{&key, &agency}, func() error {
				refs.environments[key] = agency
				return nil
			}); err != nil {
				return err
			}
		}
		if len(agencies) > 0 {
			rows, _ := br.Query()
			var key string
			if _, err := pgx.ForEachRow(rows, []any{&key}, func() error {
				refs.agencies[key] = true
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, scopeRefs{}, err
	}
	for _, u := range users {
		slices.SortFunc(u.orig, func(a, b storedGrant) int { return compareScopes(a.Scope, b.Scope) })
		u.cur, u.grants = u.stored, u.orig
	}
	return users, refs, nil
}

// writeGrantBatch is round trip 2: it writes every user's net change, appends the
// audit entries (locking the chain head last) and commits.
func writeGrantBatch(ctx context.Context, c *pgx.Conn, users map[string]*pipeUser, entries []auditEntry) error {
	// The entries are prepared for hashing before anything is locked.
	cols, err := auditColumnsOf(entries)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, k := range sortedKeys(users) {
		u := users[k]
		if !u.found {
			continue
		}
		plan := planGrants(grantsOf(u.orig), grantsOf(u.grants))
		for _, sc := range plan.Delete {
			b.Queue(pipeDeleteGrant, k, scopeID(sc))
		}
		for _, g := range plan.Update {
			b.Queue(pipeUpdateGrant, k, scopeID(g.Scope), encodeRoles(g.Roles))
		}
		for _, g := range plan.Insert {
			b.Queue(pipeInsertGrant, k, scopeID(g.Scope), nullIfEmpty(g.Scope.Agency), nullIfEmpty(g.Scope.Environment), encodeRoles(g.Roles))
		}
		if u.cur.ManagedBy != u.stored.ManagedBy || u.cur.grantsByPerson != u.stored.grantsByPerson {
			b.Queue(pipeSetOwner, u.cur.ManagedBy, u.cur.grantsByPerson, k)
		}
	}
	b.Queue(pipeAppendAudit, cols.at, cols.actor, cols.onBehalfOf, cols.source, cols.action, cols.target, cols.details,
		cols.user, cols.agency, cols.environment, cols.tail)
	b.Queue("COMMIT")
	return runBatch(ctx, c, b, func(br pgx.BatchResults) error {
		for range len(b.QueuedQueries) {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
	})
}

// nullIfEmpty is NULL for "", for the nullable scope columns.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// runBatch sends b in one round trip and reads its results with read.
func runBatch(ctx context.Context, c *pgx.Conn, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	br := c.SendBatch(ctx, b)
	return errors.Join(read(br), br.Close())
}

// auditColumnArrays are audit entries column by column, as audit_append takes them;
// tail is each entry's canonical JSON after its seq (see chainTail).
type auditColumnArrays struct {
	at                                                                            []int64
	actor, onBehalfOf, source, action, target, details, user, agency, environment []string
	tail                                                                          [][]byte
}

func auditColumnsOf(entries []auditEntry) (auditColumnArrays, error) {
	n := len(entries)
	c := auditColumnArrays{at: make([]int64, n), tail: make([][]byte, n)}
	for _, col := range []*[]string{&c.actor, &c.onBehalfOf, &c.source, &c.action, &c.target, &c.details, &c.user, &c.agency, &c.environment} {
		*col = make([]string, n)
	}
	for i, e := range entries {
		details, err := marshalDetails(e.details)
		if err != nil {
			return auditColumnArrays{}, err
		}
		if c.tail[i], err = chainTail(nil, e.at, e.actor, e.onBehalfOf, e.source, e.action, e.target, details); err != nil {
			return auditColumnArrays{}, err
		}
		c.at[i] = micros(e.at)
		c.actor[i], c.onBehalfOf[i], c.source[i], c.action[i], c.target[i], c.details[i] = e.actor, e.onBehalfOf, e.source, e.action, e.target, details
		c.user[i], c.agency[i], c.environment[i] = e.user, e.agency, e.environment
	}
	return c, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare[string])
	return keys
}
