package crash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
	"github.com/studio-operator/studio-operator/test/internal/childproc"
)

// Bounds of the crash run.
const (
	// firstStartTimeout bounds the manager's first start, before any fault.
	firstStartTimeout = 2 * time.Minute
	// settleTimeout bounds the wait, after the last fault, for every invariant to hold.
	settleTimeout = 150 * time.Second
	// stepsPerKill sizes the workload to the kills: about one kill per six steps.
	stepsPerKill = 6
	// killsPerStoreKill: the store is SIGKILLed once per so many manager kills, and at
	// least once.
	killsPerStoreKill = 12
	// managerControllers log "Starting workers" once each when the manager is up.
	managerControllers = 4
	// resync is the manager's --resync-period: short enough that a resync falls in the
	// settle wait, long enough that convergence is not just resyncs.
	resync = 15 * time.Second
)

// Kill and pacing distributions.
const (
	minKillDelay, maxKillDelay = 300 * time.Millisecond, 3 * time.Second
	maxRestartPause            = 300 * time.Millisecond
	// aimedShare of the kills wait for the manager to be talking to the store and
	// come within maxAimJitter of seeing it; the others come at a random time.
	aimedShare   = 0.5
	maxAimJitter = 20 * time.Millisecond
	// The workload comes in bursts: most steps follow the one before within
	// maxBurstPause, the others after a pause between minStepPause and maxStepPause,
	// so that kills find the manager both busy and idle.
	burstShare                 = 0.7
	maxBurstPause              = 30 * time.Millisecond
	minStepPause, maxStepPause = 300 * time.Millisecond, 900 * time.Millisecond
	minStoreKillDelay          = 30 * time.Millisecond
	maxStoreKillDelay          = 400 * time.Millisecond
	minStoreDown, maxStoreDown = 200 * time.Millisecond, 1500 * time.Millisecond
)

// The manager is SIGKILLed at random points while a scripted workload runs, the store
// is SIGKILLed in the middle of a fan-out, and a proxy injects faults between the
// two; once the faults stop, every invariant must hold within settleTimeout.
func TestCrashesAndFaultsConverge(t *testing.T) {
	seed := runSeed()
	kills := max(*flagKills, 1)
	storeKills := max(1, kills/killsPerStoreKill)
	t.Logf("seed %d: %d manager kills, %d store kills (rerun: go test ./test/crash -run %s -crash.seed=%d -crash.kills=%d)",
		seed, kills, storeKills, t.Name(), seed, kills)
	rep := &runReport{seed: seed, kills: kills}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), runBudget(kills))
	defer cancel()

	dir := t.TempDir()
	cp := startControlPlane(t, dir)
	st, err := newStoreProc(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Kill() })
	px, err := startFaultProxy(st.url, seed, defaultRates)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.close)
	sc, err := storeclient.New(st.url, storeclient.Options{Token: st.token})
	if err != nil {
		t.Fatal(err)
	}
	if err := createAgencies(ctx, cp.c); err != nil {
		t.Fatal(err)
	}
	mgr := &managerProc{dir: dir, kubeconfig: cp.kubeconfig, storeURL: px.url, token: st.token,
		extra: []string{"--resync-period", resync.String()}}
	if err := mgr.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Kill() })
	if err := mgr.waitWorkers(ctx, 0, managerControllers, firstStartTimeout); err != nil {
		t.Fatal(redactedError(err, mgr.logPath(), st.token))
	}
	plan := generateScript(seed, kills*stepsPerKill, storeKills)
	rep.countSteps(plan.steps)
	rep.setup = time.Since(began)

	// The run: faults on, the workload in the background, the kills here.
	px.setFaults(true)
	runStart := time.Now()
	workDone := make(chan error, 1)
	go func() { workDone <- runWorkload(ctx, cp, st, plan.steps, seed, rep) }()
	if err := killLoop(ctx, mgr, kills, seed, px.inFlight.Load, rep); err != nil {
		t.Fatal(redactedError(err, mgr.logPath(), st.token))
	}
	if err := <-workDone; err != nil {
		t.Fatal(redactedError(err, st.LogPath, st.token))
	}
	rep.run = time.Since(runStart)
	px.setFaults(false)
	rep.faults, rep.requests = px.faultCounts(), px.served.Load()

	// Settle: no more faults; the last manager and store keep running.
	settleStart := time.Now()
	k := checker{c: cp.c, store: sc, mailDir: st.mailDir, gone: plan.final.deleted}
	v, err := settle(ctx, k, settleTimeout)
	rep.settle = time.Since(settleStart)
	if err != nil {
		t.Fatal(err)
	}
	rep.verdict, rep.total = v, time.Since(began)
	if err := mgr.ExitErr(); err != nil {
		t.Errorf("the manager ended on its own after the run: %v", err)
	}
	t.Log(rep.String())
	if !v.ok() {
		t.Errorf("invariants violated after %s of settling:\n%s\nmanager log (redacted tail):\n%s",
			rep.settle.Round(time.Second), v.summary(), redactedTail(mgr.logPath(), 40, st.token))
		return
	}
	checkTheChecker(ctx, t, k, plan.final)
}

// runSeed is -crash.seed, or a fresh one.
func runSeed() uint64 {
	if *flagSeed != 0 {
		return uint64(*flagSeed)
	}
	return uint64(time.Now().UnixNano()&(1<<53-1)) | 1
}

// runBudget bounds the whole run, whatever hangs: generous per kill, plus the
// set-up and the settle wait.
func runBudget(kills int) time.Duration {
	return 5*time.Minute + time.Duration(kills)*10*time.Second + settleTimeout
}

// randDuration is uniform in [lo, hi).
func randDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// sleepCtx sleeps d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// killLoop SIGKILLs the manager kills times, each after a random time up, and starts
// it again after a short random pause. A manager that ended on its own is a failure.
func killLoop(ctx context.Context, mgr *managerProc, kills int, seed uint64, inFlight func() int64, rep *runReport) error {
	rng := rand.New(rand.NewPCG(seed, 0x4b111))
	for i := range kills {
		linesBefore := childproc.CountLines(mgr.logPath(), "Starting workers")
		up := randDuration(rng, minKillDelay, maxKillDelay)
		aimed := rng.Float64() < aimedShare
		if err := waitKillPoint(ctx, up, aimed, rng, inFlight); err != nil {
			return err
		}
		if err := mgr.ExitErr(); err != nil {
			return fmt.Errorf("before kill %d: the manager ended on its own: %w", i+1, err)
		}
		started := childproc.CountLines(mgr.logPath(), "Starting workers") - linesBefore
		busy := inFlight() > 0
		if err := mgr.Kill(); err != nil {
			return err
		}
		rep.noteKill(up, started >= managerControllers, busy)
		if err := sleepCtx(ctx, time.Duration(rng.Int64N(int64(maxRestartPause)))); err != nil {
			return err
		}
		if err := mgr.start(); err != nil {
			return err
		}
	}
	return nil
}

// waitKillPoint waits up to up; an aimed kill comes earlier, a moment after the
// manager is seen talking to the store (once it has run minKillDelay), so that many
// kills cut a reconcile between its writes.
func waitKillPoint(ctx context.Context, up time.Duration, aimed bool, rng *rand.Rand, inFlight func() int64) error {
	if !aimed {
		return sleepCtx(ctx, up)
	}
	jitter := time.Duration(rng.Int64N(int64(maxAimJitter)))
	deadline := time.Now().Add(up)
	if err := sleepCtx(ctx, minKillDelay); err != nil {
		return err
	}
	for inFlight() == 0 && time.Now().Before(deadline) {
		if err := sleepCtx(ctx, time.Millisecond); err != nil {
			return err
		}
	}
	return sleepCtx(ctx, jitter)
}

// runWorkload applies the steps in order with short random pauses; a kill-store step
// SIGKILLs the store shortly after the fan-out before it and starts it again on the
// same port and database.
func runWorkload(ctx context.Context, cp *controlPlane, st *storeProc, steps []step, seed uint64, rep *runReport) error {
	rng := rand.New(rand.NewPCG(seed, 0x3011))
	for i, s := range steps {
		if s.kind == opKillStore {
			if err := killStore(ctx, st, rng, rep); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
			continue
		}
		if err := s.apply(ctx, cp.c); err != nil {
			return fmt.Errorf("step %d (%s): %w", i, s.kind, err)
		}
		pause := randDuration(rng, minStepPause, maxStepPause)
		if rng.Float64() < burstShare {
			pause = randDuration(rng, 0, maxBurstPause)
		}
		if err := sleepCtx(ctx, pause); err != nil {
			return err
		}
	}
	return nil
}

func killStore(ctx context.Context, st *storeProc, rng *rand.Rand, rep *runReport) error {
	if err := sleepCtx(ctx, randDuration(rng, minStoreKillDelay, maxStoreKillDelay)); err != nil {
		return err
	}
	if err := st.Kill(); err != nil {
		return err
	}
	down := randDuration(rng, minStoreDown, maxStoreDown)
	if err := sleepCtx(ctx, down); err != nil {
		return err
	}
	began := time.Now()
	if err := st.start(ctx); err != nil {
		return fmt.Errorf("restart the store: %w", err)
	}
	rep.noteStoreKill(down + time.Since(began))
	return nil
}

// settle evaluates the invariants every second until they all hold or timeout
// passes, then once more with the audit chain.
func settle(ctx context.Context, k checker, timeout time.Duration) (verdict, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := k.check(ctx, false)
		if err != nil {
			return nil, err
		}
		if v.ok() || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return nil, err
		}
	}
	return k.check(ctx, true)
}
