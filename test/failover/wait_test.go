package failover

import (
	"context"
	"fmt"
	"time"
)

// poll calls cond every interval until it reports done, and gives up after timeout
// or timeout/interval+1 attempts, whichever comes first, so that every wait of the
// test is bounded in count and in time. Done ends the wait; otherwise the error,
// which says why not (or what failed, to be retried), is remembered and the last
// one is part of the timeout error. abort, when it returns an
// error, stops the wait at once (a child process that died, say).
func poll(ctx context.Context, what string, interval, timeout time.Duration, abort func() error, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	attempts := int(timeout/interval) + 1
	var last error
	for range attempts {
		if abort != nil {
			if err := abort(); err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
		}
		done, err := cond(ctx)
		if done {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not within %s (last error: %v)", what, timeout, last)
		case <-time.After(interval):
		}
	}
	return fmt.Errorf("%s: not within %d attempts (last error: %v)", what, attempts, last)
}
