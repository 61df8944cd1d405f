package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/leaderelection"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator"
	"github.com/studio-operator/studio-operator/internal/operator/revocation"
)

// EnvStoreToken is read when --store-token-file is not given.
const EnvStoreToken = "STUDIO_STORE_TOKEN"

// Error strings of flag validation.
const (
	errNoStoreURL   = "--store-url is required (the Studio user store, e.g. http://studio-store:8080)"
	errNoToken      = "no store token: set --store-token-file or " + EnvStoreToken
	errEmptyToken   = "--store-token-file %s is empty"
	errBadResync    = "--resync-period must be positive"
	errBadQPS       = "--kube-api-qps must be positive, or negative to turn client-side rate limiting off"
	errBadBurst     = "--kube-api-burst must be at least 1 when --kube-api-qps is positive"
	errBadWorkers   = "--max-concurrent-reconciles must be at least 1"
	errReadTokenFmt = "reading --store-token-file: %w"
	errBadLease     = "--leader-elect-lease-duration must be at least 1s (a Lease records whole seconds)"
	errBadRenew     = "--leader-elect-renew-deadline must be positive"
	errRenewFmt     = "--leader-elect-renew-deadline (%s) must be shorter than --leader-elect-lease-duration (%s)"
	errBadRetry     = "--leader-elect-retry-period must be positive"
	errMemoryFmt    = "--memory-limit must be a quantity of bytes such as 256Mi or 1G, at least 32Mi: %s"
	errRetryFmt     = "--leader-elect-retry-period (%s) must be shorter than --leader-elect-renew-deadline (%s) / 1.2 (client-go's jitter)"
)

// config is the manager's command line.
type config struct {
	storeURL                string
	storeToken              string
	instanceID              string
	namespace               string
	resyncPeriod            time.Duration
	revocationWindow        time.Duration
	kubeAPIQPS              float64
	kubeAPIBurst            int
	maxConcurrentReconciles int
	kubeconfig              string
	leaderElect             bool
	leaderElectionNamespace string
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
	metricsAddr             string
	probeAddr               string
	pprofAddr               string
	memoryLimit             int64
	zap                     zap.Options
}

// parseFlags reads the command line (and, for the token, the environment).
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var tokenFile string
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.storeURL, "store-url", "", "Base URL of the Studio user store, e.g. http://studio-store:8080.")
	fs.StringVar(&tokenFile, "store-token-file", "", "File holding the store's bearer token (admin role); default: env "+EnvStoreToken+".")
	fs.StringVar(&c.instanceID, "instance-id", controllers.DefaultInstanceID, "This operator instance's name, sent as the manager of every record it writes.")
	fs.DurationVar(&c.resyncPeriod, "resync-period", controllers.DefaultResyncPeriod, "How often every object is compared with the store again (corrects drift).")
	fs.DurationVar(&c.revocationWindow, "revocation-window", revocation.DefaultWindow,
		"Window of the mass-revocation guard: within it at most an Agency's spec.revocationGuard of its users lose all their access; the rest is held until approved.")
	fs.Float64Var(&c.kubeAPIQPS, "kube-api-qps", operator.DefaultKubeAPIQPS,
		"Requests per second to the API server, sustained (client-side limit; the API server's priority and fairness queues the rest). Negative turns the client-side limit off.")
	fs.IntVar(&c.kubeAPIBurst, "kube-api-burst", operator.DefaultKubeAPIBurst, "Requests to the API server allowed in a burst above --kube-api-qps.")
	fs.IntVar(&c.maxConcurrentReconciles, "max-concurrent-reconciles", controllers.DefaultMaxConcurrentReconciles,
		"StudioUsers reconciled in parallel; RoleBindings get half as many workers, Environments a quarter, Agencies two.")
	fs.StringVar(&c.namespace, "namespace", controllers.DefaultNamespace, "Namespace of the invitation-link Secrets.")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; default: env KUBECONFIG, else in-cluster.")
	fs.BoolVar(&c.leaderElect, "leader-elect", false, "Elect a leader, so that only one replica reconciles.")
	fs.StringVar(&c.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader-election lease; default: the pod's namespace.")
	fs.DurationVar(&c.leaseDuration, "leader-elect-lease-duration", operator.DefaultLeaseDuration,
		"How long the other replicas wait after the leader's last renewal before they take the lease over: the longest failover when a leader dies.")
	fs.DurationVar(&c.renewDeadline, "leader-elect-renew-deadline", operator.DefaultRenewDeadline,
		"How long the leader keeps trying to renew the lease before it stops leading (and exits); shorter than --leader-elect-lease-duration.")
	fs.DurationVar(&c.retryPeriod, "leader-elect-retry-period", operator.DefaultRetryPeriod,
		"How often each replica tries to acquire or renew the lease.")
	fs.StringVar(&c.metricsAddr, "metrics-bind-address", ":8080", "Address of the metrics endpoint; 0 disables it.")
	fs.StringVar(&c.probeAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz; 0 disables them.")
	fs.StringVar(&c.pprofAddr, "pprof-bind-address", "", "Address of Go's /debug/pprof/ profiles, e.g. 127.0.0.1:6060; empty (the default) serves none.")
	memory := fs.String("memory-limit", "", "The container's memory limit (e.g. 256Mi), of which "+
		"90% becomes Go's soft memory limit; default: the limit of the manager's cgroup, if any. GOMEMLIMIT, when set, wins.")
	c.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.storeURL == "" {
		return config{}, errors.New(errNoStoreURL)
	}
	if c.revocationWindow <= 0 {
		return config{}, errors.New("--revocation-window must be positive")
	}
	if c.resyncPeriod <= 0 {
		return config{}, errors.New(errBadResync)
	}
	switch {
	case c.kubeAPIQPS == 0:
		return config{}, errors.New(errBadQPS)
	case c.kubeAPIQPS > 0 && c.kubeAPIBurst < 1:
		return config{}, errors.New(errBadBurst)
	case c.maxConcurrentReconciles < 1:
		return config{}, errors.New(errBadWorkers)
	}
	if err := validateLease(c.leaseDuration, c.renewDeadline, c.retryPeriod); err != nil {
		return config{}, err
	}
	if *memory != "" {
		q, err := resource.ParseQuantity(*memory)
		if err != nil || q.Value() < minMemoryLimit {
			return config{}, fmt.Errorf(errMemoryFmt, *memory)
		}
		c.memoryLimit = q.Value()
	}
	token, err := readToken(tokenFile, getenv)
	if err != nil {
		return config{}, err
	}
	c.storeToken = token
	return c, nil
}

// minMemoryLimit is the smallest --memory-limit taken: below it the manager could
// not hold even a small organisation, and the value is more likely a typo (256M
// meant as 256Mi is fine; 256 is not).
const minMemoryLimit = 32 << 20

// validateLease checks the leader-election timings as client-go's elector does
// (lease > renew > 1.2 × retry, all positive), so that a bad value stops the manager
// at once with the flag's name instead of when it first tries to elect.
func validateLease(lease, renew, retry time.Duration) error {
	switch {
	case lease < time.Second:
		return errors.New(errBadLease)
	case renew <= 0:
		return errors.New(errBadRenew)
	case renew >= lease:
		return fmt.Errorf(errRenewFmt, renew, lease)
	case retry <= 0:
		return errors.New(errBadRetry)
	case float64(renew) <= leaderelection.JitterFactor*float64(retry):
		return fmt.Errorf(errRetryFmt, retry, renew)
	}
	return nil
}

// readToken reads the token from file, else from the environment. The token itself
// never appears in an error.
func readToken(file string, getenv func(string) string) (string, error) {
	if file == "" {
		if t := strings.TrimSpace(getenv(EnvStoreToken)); t != "" {
			return t, nil
		}
		return "", errors.New(errNoToken)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf(errReadTokenFmt, err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf(errEmptyToken, file)
	}
	return t, nil
}
