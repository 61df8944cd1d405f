package sqlstore

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Group commit. On this kind of store a write is a handful of small statements, and
// what it costs is mostly fixed per transaction: the round trips of BEGIN and COMMIT,
// locking and appending to the audit chain, and (SQLite) writing the changed pages to
// the WAL. Writes that arrive while a transaction is running therefore wait in a
// queue, and the next transaction runs all of them, one after the other, appends all
// their audit entries at once and commits once. Under load this multiplies
// throughput; alone, a write runs as before.
//
// Every write still sees the effects of the writes before it (same transaction, same
// order as the audit log), refusals (*store.Error before anything was written) drop
// only the refused write, and if anything else goes wrong the batch is rolled back and
// each of its writes is run again in a transaction of its own.

// maxBatch bounds the writes of one transaction.
const maxBatch = 64

// queueLength bounds the writes waiting per committer.
const queueLength = 1024

// batchTimeout bounds one batch transaction; a write's own context cannot be used, as
// cancelling a statement would abort the writes of others.
const batchTimeout = time.Minute

type writeRequest struct {
	ctx    context.Context
	caller store.Caller
	fn     writeFunc
	// grants is set for a PutGrants, which the PostgreSQL committer can run without
	// fn, pipelined with the others of its batch.
	grants *grantRequest
	done   chan error
}

// committer runs the write transactions: one goroutine per queue, each with one
// connection. Writes are routed to a queue by partition, so the writes of one record
// are committed in arrival order and two committers rarely lock the same rows.
type committer struct {
	s      *Store
	queues []chan *writeRequest
	closed chan struct{}
	// stopped is closed once every committer has returned: a write queued after
	// that is answered by nobody.
	stopped chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
	// beforeEnqueue, when set, runs between submit's check for a closed store and its
	// enqueue (fault injection: a close in between).
	beforeEnqueue func()

	// Counters of shared transactions (batches of two writes or more): how many, how
	// many writes they held, and how many failed and fell back to one by one.
	batches, batched, fallbacks atomic.Int64
}

func newCommitter(s *Store, workers int) *committer {
	c := &committer{s: s, closed: make(chan struct{}), stopped: make(chan struct{})}
	for range workers {
		q := make(chan *writeRequest, queueLength)
		c.queues = append(c.queues, q)
		c.wg.Go(func() { c.run(q) })
	}
	return c
}

var errClosed = errors.New("store is closed")

// submit queues a write and waits for its outcome. If ctx ends first, the write may
// still be committed; writes are idempotent, so a retry finds it done.
func (c *committer) submit(ctx context.Context, req *writeRequest, partition string) error {
	req.done = make(chan error, 1)
	h := fnv.New32a()
	h.Write([]byte(partition))
	q := c.queues[int(h.Sum32()%uint32(len(c.queues)))]
	select {
	case <-c.closed:
		return store.Unavailable(errClosed)
	default:
	}
	if c.beforeEnqueue != nil {
		c.beforeEnqueue()
	}
	select {
	case q <- req:
	case <-ctx.Done():
		return mapError(ctx.Err())
	case <-c.closed:
		return store.Unavailable(errClosed)
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return mapError(ctx.Err())
	case <-c.stopped:
		// The committers are gone: either one answered before it went, or the write
		// was queued after the queue was drained and nobody will.
		select {
		case err := <-req.done:
			return err
		default:
			return store.Unavailable(errClosed)
		}
	}
}

// close stops the committers; queued writes fail as unavailable, and so does a write
// queued while they stop.
func (c *committer) close() {
	c.once.Do(func() {
		close(c.closed)
		c.wg.Wait()
		close(c.stopped)
	})
	c.wg.Wait()
}

func (c *committer) run(q chan *writeRequest) {
	for {
		var first *writeRequest
		select {
		case first = <-q:
		case <-c.closed:
			for {
				select {
				case r := <-q:
					r.done <- store.Unavailable(errClosed)
				default:
					return
				}
			}
		}
		batch := []*writeRequest{first}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-q:
				batch = append(batch, r)
			default:
				break more
			}
		}
		c.s.commitBatch(batch)
	}
}

// commitBatch runs the batch in one transaction, or each write alone when that fails.
// On PostgreSQL, runs of grant-set writes go the pipelined way (grants_pipeline.go);
// the writes still commit in arrival order.
func (s *Store) commitBatch(batch []*writeRequest) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- mapError(err)
			continue
		}
		live = append(live, r)
	}
	if s.d != postgresDialect {
		s.commitGeneric(live)
		return
	}
	for len(live) > 0 {
		grants := live[0].grants != nil
		n := 1
		for n < len(live) && (live[n].grants != nil) == grants {
			n++
		}
		if grants {
			s.commitGrants(live[:n])
		} else {
			s.commitGeneric(live[:n])
		}
		live = live[n:]
	}
}

// commitGeneric runs writes in one transaction, statement by statement.
func (s *Store) commitGeneric(live []*writeRequest) {
	if len(live) == 1 {
		live[0].done <- s.writeAlone(live[0].ctx, live[0].caller, live[0].fn)
		return
	}
	if len(live) == 0 {
		return
	}
	results, err := s.tryBatch(live)
	s.committer.batches.Add(1)
	s.committer.batched.Add(int64(len(live)))
	if err != nil {
		s.fallBack(live)
		return
	}
	for i, r := range live {
		r.done <- results[i]
	}
}

// commitGrants runs grant-set writes in one pipelined transaction.
func (s *Store) commitGrants(live []*writeRequest) {
	results, err := s.tryGrants(live)
	if len(live) > 1 {
		s.committer.batches.Add(1)
		s.committer.batched.Add(int64(len(live)))
	}
	if err != nil {
		s.fallBack(live)
		return
	}
	for i, r := range live {
		r.done <- results[i]
	}
}

// fallBack runs the writes of a failed transaction one by one, each in a transaction
// of its own (with retries), so that one write's failure is its own.
func (s *Store) fallBack(live []*writeRequest) {
	s.committer.fallbacks.Add(1)
	s.log.Debug("batch failed; running its writes one by one", "writes", len(live))
	for _, r := range live {
		r.done <- s.writeAlone(r.ctx, r.caller, r.fn)
	}
}

// tryBatch runs the writes in one transaction. It returns each write's refusal (or
// nil), or an error when the batch as a whole must be given up.
func (s *Store) tryBatch(batch []*writeRequest) (results []error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	r := &runner{d: s.d, db: s.writer, tx: tx, cache: s.writeStmts}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
		s.writeStmts.prepare(ctx, r.missed)
	}()
	results = make([]error, len(batch))
	var entries []auditEntry
	wrote := false
	for i, req := range batch {
		t := &writeTx{runner: r, s: s, now: s.now(), caller: req.caller}
		err := req.fn(ctx, t)
		if err != nil {
			var se *store.Error
			if errors.As(err, &se) && !t.wrote {
				results[i] = err
				continue
			}
			return nil, err
		}
		wrote = wrote || t.wrote
		entries = append(entries, t.entries...)
	}
	if !wrote && len(entries) == 0 {
		return results, nil
	}
	if err := appendAudit(ctx, r, entries); err != nil {
		return nil, err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return results, nil
}
