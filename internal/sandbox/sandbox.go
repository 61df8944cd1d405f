package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/studio-operator/studio-operator/internal/operator"
)

// Error messages for the checks made before anything slow starts.
const (
	errDirNotWritable = "sandbox directory %s is not writable: %w"
	errPortInUse      = "store listen address %s is already in use: choose another --store-listen or stop what uses it"
	errListen         = "store listen address %s: %w"
	// errResume explains the usual causes when a kept cluster state fails to start.
	errResume = "%w (resuming the cluster state in %s: if a killed studio-dev left etcd running, stop it; or remove the directory to start afresh)"
)

// Sandbox is a running sandbox. Stop it exactly once.
type Sandbox struct {
	cfg       Config
	endpoints Endpoints

	// stops run in reverse order on Stop: what started last stops first.
	stops []namedStop

	// failed is closed when a component stops on its own (err says why).
	failed   chan struct{}
	failOnce sync.Once
	err      error
}

type namedStop struct {
	name string
	stop func() error
}

// Endpoints returns where the sandbox serves (including the store token: keep it out of
// logs).
func (s *Sandbox) Endpoints() Endpoints { return s.endpoints }

// Failed is closed when a component (manager, store) stopped on its own; Err says why.
func (s *Sandbox) Failed() <-chan struct{} { return s.failed }

// Err is the reason the sandbox failed, once Failed is closed.
func (s *Sandbox) Err() error {
	select {
	case <-s.failed:
		return s.err
	default:
		return nil
	}
}

func (s *Sandbox) fail(err error) {
	s.failOnce.Do(func() {
		s.err = err
		close(s.failed)
	})
}

func (s *Sandbox) progress(format string, args ...any) {
	fmt.Fprintf(s.cfg.Progress, "studio-dev: "+format+"\n", args...)
}

func (s *Sandbox) onStop(name string, stop func() error) {
	s.stops = append(s.stops, namedStop{name: name, stop: stop})
}

// Start brings the sandbox up: checks, control plane, store, manager, then the files
// (kubeconfig, env, and ready last). On error everything started so far is stopped.
func Start(ctx context.Context, cfg Config) (*Sandbox, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Sandbox{cfg: cfg, failed: make(chan struct{})}
	if err := s.start(ctx); err != nil {
		if stopErr := s.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	return s, nil
}

func (s *Sandbox) start(ctx context.Context) error {
	cfg := s.cfg
	// Cheap checks first, so a mistake is reported before minutes of startup.
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf(errDirNotWritable, cfg.Dir, err)
	}
	release, err := lockDir(cfg.path(lockFile), cfg.Dir)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf(errDirNotWritable, cfg.Dir, err)
		}
		return err
	}
	s.onStop("lock", func() error { release(); return nil })
	// A sandbox killed on this directory may have left its control plane running and
	// its ready file, which must not announce this one early.
	if err := s.clearLeftovers(); err != nil {
		return err
	}
	assets := cfg.AssetsDir
	if assets == "" {
		if assets, err = ResolveAssetsDir(); err != nil {
			return err
		}
	} else if err := checkAssets(assets); err != nil {
		return err
	}
	// Fail now rather than after the control plane started, and hold the address
	// until the store binds it.
	storeAddr, err := reserveStoreAddress(cfg.StoreListen, cfg.Dir, cfg.path(StorePortFile))
	if err != nil {
		return err
	}
	s.onStop("store address", func() error { storeAddr.listener.Close(); return nil })

	s.progress("starting the control plane (etcd and kube-apiserver from %s)", assets)
	scheme, err := operator.NewScheme()
	if err != nil {
		return err
	}
	_, statErr := os.Stat(cfg.path(EtcdDir))
	resuming := statErr == nil
	cp, err := startControlPlane(assets, cfg.path(EtcdDir), cfg.path(RunDir), scheme)
	if err != nil {
		if resuming {
			return fmt.Errorf(errResume, err, cfg.path(EtcdDir))
		}
		return err
	}
	s.onStop("control plane", cp.stop)
	s.endpoints = Endpoints{
		Dir:        cfg.Dir,
		Kubeconfig: cfg.path(KubeconfigFile),
		APIServer:  cp.config.Host,
		StoreToken: rand.Text(),
		MailDir:    cfg.path(MailDir),
	}
	if err := ensureNamespace(ctx, cp.config, scheme, cfg.Namespace); err != nil {
		return err
	}
	kubeconfig, err := renameKubeconfig(cp.kubeconfig, kubeconfigName)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.endpoints.Kubeconfig, kubeconfig, 0o600); err != nil {
		return err
	}
	s.progress("control plane serving at %s; CRDs installed; namespace %s ready", cp.config.Host, cfg.Namespace)

	storeAddr.listener.Close()
	st, err := startStore(ctx, storeConfig{
		listen:        storeAddr.listener.Addr().String(),
		dbPath:        cfg.path(DatabaseFile),
		mailDir:       s.endpoints.MailDir,
		mailFrom:      mailFrom,
		invitationTTL: cfg.InvitationTTL,
		adminToken:    s.endpoints.StoreToken,
		logger:        cfg.Logger.WithName("store"),
		onFailure:     s.fail,
	})
	if err != nil {
		return err
	}
	s.onStop("store", st.stop)
	if err := keepStorePort(cfg.path(StorePortFile), storeAddr.port()); err != nil {
		return err
	}
	if storeAddr.kept != 0 && storeAddr.kept != storeAddr.port() {
		s.progress(msgStoreMoved, storeAddr.kept, storeAddr.port())
	}
	s.endpoints.StoreURL = st.url()
	s.progress("store serving at %s (SQLite %s, mails in %s)", s.endpoints.StoreURL, cfg.path(DatabaseFile), s.endpoints.MailDir)

	mgr, err := startManager(ctx, managerConfig{
		rest:         cp.config,
		storeURL:     s.endpoints.StoreURL,
		storeToken:   s.endpoints.StoreToken,
		instanceID:   cfg.InstanceID,
		namespace:    cfg.Namespace,
		resyncPeriod: cfg.ResyncPeriod,
		logger:       cfg.Logger.WithName("manager"),
		onFailure:    s.fail,
	})
	if err != nil {
		return err
	}
	s.onStop("manager", mgr.stop)
	s.progress("manager running (instance %s, resync every %s)", cfg.InstanceID, cfg.ResyncPeriod)

	if err := writeFileAtomic(cfg.path(EnvFile), []byte(RenderEnv(s.endpoints)), 0o600); err != nil {
		return err
	}
	ready, err := renderReady(os.Getpid(), s.endpoints)
	if err != nil {
		return err
	}
	// The ready file goes first on the way out, so nobody trusts a stopping sandbox.
	s.onStop("ready file", func() error {
		if err := os.Remove(cfg.path(ReadyFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
	if err := writeFileAtomic(cfg.path(ReadyFile), ready, 0o644); err != nil {
		return err
	}
	s.progress("ready: source %s to use kubectl and kubectl studio with the sandbox", cfg.path(EnvFile))
	return nil
}

// Stop stops everything in reverse start order and reports every failure, not just
// the first, so nothing is left running because something before it failed.
func (s *Sandbox) Stop() error {
	var errs []error
	for i := len(s.stops) - 1; i >= 0; i-- {
		st := s.stops[i]
		if err := st.stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", st.name, err))
		}
	}
	s.stops = nil
	return errors.Join(errs...)
}

// Up starts the sandbox and runs it until ctx is done (SIGINT/SIGTERM in studio-dev)
// or a component fails, then stops it. A stop on request returns nil.
func Up(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted while starting: what was started is stopped, as asked.
			fmt.Fprintln(progressOf(cfg), "studio-dev: stopped before it was ready")
			return nil
		}
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		s.progress("stopping")
	case <-s.Failed():
		runErr = s.Err()
		s.progress("stopping after a failure: %v", runErr)
	}
	stopErr := s.Stop()
	if stopErr == nil && runErr == nil {
		s.progress("stopped")
	}
	return errors.Join(runErr, stopErr)
}

func progressOf(cfg Config) io.Writer {
	if cfg.Progress == nil {
		return io.Discard
	}
	return cfg.Progress
}
