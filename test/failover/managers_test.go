package failover

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// Lease timings of the managers: short, so that the failover fits the test, and
// valid for client-go (lease > renew > 1.2 × retry).
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = 500 * time.Millisecond
)

// Log lines the test reads (matched ignoring case). attemptLine and acquiredLine are
// client-go's, logged when a replica starts to wait for the Lease and once it holds
// it; workersLine is controller-runtime's, once per controller that runs, and
// only the leader runs controllers.
const (
	attemptLine  = "attempting to acquire leader lease"
	acquiredLine = "successfully acquired lease"
	workersLine  = "Starting workers"
	// controllers is how many controllers the manager runs.
	controllers = 4
)

// Names of the operator's namespaces and instance.
const (
	systemNamespace = "studio-system" // invitation Secrets and the Lease
	instanceID      = "failover"
)

// startManager runs the manager binary against the cluster and the store at
// storeURL (st's, or a proxy to it), with leader election in systemNamespace,
// metrics and probes off (no ports) and the instance id both replicas share.
func startManager(t *testing.T, name, bin, dir string, c *cluster, st *studio, storeURL string) *proc {
	t.Helper()
	return startProc(t, name, bin, []string{
		"--kubeconfig", c.kubeconfig,
		"--store-url", storeURL,
		"--store-token-file", st.tokenFile,
		"--instance-id", instanceID,
		"--namespace", systemNamespace,
		"--leader-elect",
		"--leader-election-namespace", systemNamespace,
		"--leader-elect-lease-duration", leaseDuration.String(),
		"--leader-elect-renew-deadline", renewDeadline.String(),
		"--leader-elect-retry-period", retryPeriod.String(),
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "0",
	}, nil, filepath.Join(dir, name+".log"))
}

// alive is an error when one of the processes has exited.
func alive(ps ...*proc) func() error {
	return func() error {
		var errs []error
		for _, p := range ps {
			errs = append(errs, p.ExitErr())
		}
		return errors.Join(errs...)
	}
}

// waitLeader waits until the Lease names a holder and exactly one manager has logged
// that it acquired it and started its controllers; it returns that one, the other
// and the holder's identity.
func waitLeader(ctx context.Context, c *cluster, ms [2]*proc, timeout time.Duration) (leader, follower *proc, identity string, err error) {
	err = poll(ctx, "a leader", 200*time.Millisecond, timeout, alive(ms[0], ms[1]), func(ctx context.Context) (bool, error) {
		l, err := c.lease(ctx, systemNamespace)
		if err != nil {
			return false, err
		}
		if identity = holder(l); identity == "" {
			return false, errors.New("the Lease has no holder")
		}
		a, b := ms[0].LogLinesFold(acquiredLine) > 0, ms[1].LogLinesFold(acquiredLine) > 0
		switch {
		case a && b:
			return false, fmt.Errorf("both managers logged %q", acquiredLine)
		case a:
			leader, follower = ms[0], ms[1]
		case b:
			leader, follower = ms[1], ms[0]
		default:
			return false, fmt.Errorf("the Lease names %s, but no manager logged %q yet", identity, acquiredLine)
		}
		if n := leader.LogLinesFold(workersLine); n < controllers {
			return false, fmt.Errorf("%s started %d of %d controllers", leader.Name, n, controllers)
		}
		return true, nil
	})
	return leader, follower, identity, err
}
