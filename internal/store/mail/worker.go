package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Worker defaults.
const (
	DefaultPollInterval = 10 * time.Second
	DefaultLease        = 2 * time.Minute
	DefaultBatchSize    = 10
	DefaultMaxAttempts  = 8
	// DefaultMaxAge matches the default invitation TTL: an invitation mail that
	// arrives after its link expired is no use.
	DefaultMaxAge      = 168 * time.Hour
	DefaultSendTimeout = time.Minute
)

// bookkeepingTimeout bounds recording an outcome in the outbox. It runs even after
// the worker's context ends: a sent mail that is not marked complete is sent again.
const bookkeepingTimeout = 10 * time.Second

// LeaseMargin is how much longer than SendTimeout the Lease must be: the time to
// record the outcome of the last send.
const LeaseMargin = bookkeepingTimeout

var (
	errWorkerFrom = errors.New("mail worker: " + errBadMailFrom.Error())
	errShortLease = fmt.Errorf("mail worker: Lease must exceed SendTimeout by more than %v", bookkeepingTimeout)
)

// WorkerOptions configure a Worker. Zero values take the defaults above.
type WorkerOptions struct {
	// From is the From header and, as a bare address, the envelope sender
	// (--mail-from). Required.
	From string
	// PollInterval is the longest the worker sleeps between passes; Kick and
	// retries falling due wake it earlier.
	PollInterval time.Duration
	// Lease is how long a claimed message is reserved. It must exceed SendTimeout
	// plus the time to record the outcome (10s), or another worker could send the
	// same message; messages of a batch whose lease is running short are left to a
	// later claim.
	Lease time.Duration
	// BatchSize is how many messages one pass claims.
	BatchSize int
	// MaxAttempts dead-letters a message whose attempt this many failed
	// permanently (SMTP 5xx).
	MaxAttempts int
	// MaxAge dead-letters a message still failing (for any reason) this long after
	// it was enqueued.
	MaxAge time.Duration
	// SendTimeout bounds one delivery.
	SendTimeout time.Duration
	// Backoff is the wait after the given failed attempt (1-based);
	// ExponentialBackoff if nil.
	Backoff func(attempt int) time.Duration
	// Clock is the time source for claiming and scheduling; time.Now if nil.
	Clock func() time.Time
	// Logger receives one line per outcome, without addresses, subjects, links or
	// bodies; slog.Default() if nil.
	Logger *slog.Logger
	// Metrics records deliveries; nothing is recorded if nil.
	Metrics *Metrics
}

func (o WorkerOptions) withDefaults() WorkerOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.Backoff == nil {
		o.Backoff = ExponentialBackoff
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Worker drains the outbox: it claims due messages, composes and sends them, and
// records each outcome. Several workers (store replicas) may share one outbox: the
// lease keeps them from sending the same message at the same time.
//
// Delivery is at least once: a crash between the mail server's acceptance and
// CompleteOutbox sends the message again when its lease runs out. The stable
// Message-ID lets receivers recognise the repeat, and DirSender writes no second file.
type Worker struct {
	outbox       store.Outbox
	sender       Sender
	opts         WorkerOptions
	envelopeFrom string
	kick         chan struct{}

	mu      sync.Mutex
	retries []time.Time // retries this worker scheduled that are not yet due
}

// maxTrackedRetries bounds Worker.retries; retries beyond it are found by polling.
const maxTrackedRetries = 1000

// NewWorker returns a worker; it does nothing until Run or DeliverDue.
func NewWorker(outbox store.Outbox, sender Sender, opts WorkerOptions) (*Worker, error) {
	if outbox == nil || sender == nil {
		return nil, errors.New("mail worker: needs an outbox and a sender")
	}
	from, err := envelopeAddress(opts.From)
	if err != nil {
		return nil, errWorkerFrom
	}
	opts = opts.withDefaults()
	if opts.Lease <= opts.SendTimeout+bookkeepingTimeout {
		return nil, errShortLease
	}
	return &Worker{
		outbox:       outbox,
		sender:       sender,
		opts:         opts,
		envelopeFrom: from,
		kick:         make(chan struct{}, 1),
	}, nil
}

// Kick wakes the worker for a pass now. The store calls it after committing a
// message; it never blocks.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default: // a pass is already pending
	}
}

// Run delivers until ctx ends. A message being delivered when ctx ends is finished
// and its outcome recorded; then Run returns nil. Failed passes (the outbox is
// unreachable) are logged and retried at the next poll.
func (w *Worker) Run(ctx context.Context) error {
	for {
		n, err := w.DeliverDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.opts.Logger.Warn("mail outbox pass failed", "error", Reason(err))
		}
		timer := time.NewTimer(w.wait(n, err))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-w.kick:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// wait is how long to sleep after a pass that claimed n messages: none when the
// batch was full (more are likely due), else until the next poll or the earliest
// retry this worker scheduled, whichever comes first.
func (w *Worker) wait(n int, passErr error) time.Duration {
	if n >= w.opts.BatchSize && passErr == nil {
		return 0
	}
	d := w.opts.PollInterval
	now := w.opts.Clock()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.retries {
		d = min(d, max(at.Sub(now), 0))
	}
	return d
}

// forgetRetriesDue drops the scheduled retries that are due at now: the pass
// starting now claims them.
func (w *Worker) forgetRetriesDue(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.retries = slices.DeleteFunc(w.retries, func(at time.Time) bool { return !at.After(now) })
}

func (w *Worker) noteRetry(at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.retries) < maxTrackedRetries {
		w.retries = append(w.retries, at)
	}
}

// DeliverDue makes one pass: it claims up to BatchSize due messages and delivers
// them one by one, stopping early (leaving the rest to their lease) when ctx ends.
// It returns how many messages it claimed. Delivery failures are recorded in the
// outbox, not returned; the error reports what the outbox itself failed to do.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := w.opts.Clock()
	w.forgetRetriesDue(now) // this pass claims them
	msgs, err := w.outbox.ClaimOutbox(ctx, now, w.opts.BatchSize, w.opts.Lease)
	if err != nil {
		return 0, fmt.Errorf("claim outbox: %w", err)
	}
	var oldest time.Duration
	for _, m := range msgs {
		oldest = max(oldest, now.Sub(m.CreatedAt))
	}
	w.opts.Metrics.claimed(oldest.Seconds())

	// A message whose lease may run out while it is sent could be claimed and sent
	// by another worker as well: such messages are left to a later claim.
	startBy := now.Add(w.opts.Lease - w.opts.SendTimeout - bookkeepingTimeout)
	var errs []error
	for i, m := range msgs {
		if ctx.Err() != nil || w.opts.Clock().After(startBy) {
			errs = append(errs, w.release(ctx, msgs[i:], now.Add(w.opts.Lease)))
			break
		}
		if err := w.deliver(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	return len(msgs), errors.Join(errs...)
}

// release gives back the messages of a claim that this pass did not attempt (it is
// stopping, or the lease is running short), so that this or another worker claims
// them at once rather than after the lease. A failed release only delays them.
func (w *Worker) release(ctx context.Context, msgs []store.OutboxMessage, claimedUntil time.Time) error {
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	n, err := w.outbox.ReleaseOutbox(bctx, ids, claimedUntil)
	if err != nil {
		return fmt.Errorf("release %d unsent outbox messages: %w", len(ids), err)
	}
	w.opts.Logger.Info("unsent mails released for the next claim", "released", n)
	return nil
}

// deliver sends one message and records the outcome. Sending and recording run on a
// context that ctx's cancellation does not reach, bounded by their own timeouts, so
// that shutting down never leaves a sent message unrecorded.
func (w *Worker) deliver(ctx context.Context, m store.OutboxMessage) error {
	attempt := m.Attempts + 1
	log := w.opts.Logger.With("outbox_id", m.ID, "attempt", attempt)
	detached := context.WithoutCancel(ctx)

	sendErr := w.send(detached, m)
	now := w.opts.Clock()
	bctx, cancel := context.WithTimeout(detached, bookkeepingTimeout)
	defer cancel()

	if sendErr == nil {
		w.opts.Metrics.sent(now.Sub(m.CreatedAt).Seconds())
		if err := w.outbox.CompleteOutbox(bctx, m.ID, now); err != nil {
			log.Error("mail sent but not marked complete; it will be sent again", "error", Reason(err))
			return fmt.Errorf("complete outbox message %d: %w", m.ID, err)
		}
		log.Info("mail delivered")
		return nil
	}

	class, reason := Classify(sendErr), Reason(sendErr)
	w.opts.Metrics.failed(class)
	if w.giveUp(m, class, attempt, now) {
		w.opts.Metrics.deadLettered()
		log.Error("mail delivery failed for good; kept in the outbox as failed", "error_class", class, "error", reason)
		if err := w.outbox.FailOutbox(bctx, m.ID, now, reason); err != nil {
			return fmt.Errorf("dead-letter outbox message %d: %w", m.ID, err)
		}
		return nil
	}
	delay := w.opts.Backoff(attempt)
	next := now.Add(delay)
	if err := w.outbox.RetryOutbox(bctx, m.ID, next, reason); err != nil {
		log.Error("mail delivery failed and its retry not recorded; it is tried again when its lease runs out", "error_class", class, "error", reason)
		return fmt.Errorf("schedule retry of outbox message %d: %w", m.ID, err)
	}
	log.Warn("mail delivery failed; will retry", "error_class", class, "error", reason, "retry_in", delay)
	w.noteRetry(next)
	return nil
}

// send composes and sends m within SendTimeout.
func (w *Worker) send(ctx context.Context, m store.OutboxMessage) error {
	msg, err := Compose(w.opts.From, m, w.opts.Clock())
	if err != nil {
		return withClass(ClassInvalid, err)
	}
	to, err := parseAddress(m.To)
	if err != nil {
		return withClass(ClassInvalid, ErrBadTo)
	}
	sctx, cancel := context.WithTimeout(ctx, w.opts.SendTimeout)
	defer cancel()
	return w.sender.Send(sctx, w.envelopeFrom, to.Address, msg)
}

// giveUp decides whether a failed message is dead-lettered: at once when it cannot
// be composed, after MaxAttempts when the failures are permanent, and after MaxAge
// whatever the failures.
func (w *Worker) giveUp(m store.OutboxMessage, class ErrorClass, attempt int, now time.Time) bool {
	switch {
	case class == ClassInvalid:
		return true
	case class == ClassPermanent && attempt >= w.opts.MaxAttempts:
		return true
	case !m.CreatedAt.IsZero() && now.Sub(m.CreatedAt) >= w.opts.MaxAge:
		return true
	}
	return false
}
