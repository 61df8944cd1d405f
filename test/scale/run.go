package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

// Config is one benchmark run; hack/bench-e2e fills it from flags.
type Config struct {
	// Sizes are the user counts, one floor and one manager run each.
	Sizes []int
	// The organisation's shape apart from the user count (see OrgShape).
	Agencies, EnvsPerAgency, EnvBindingsPerUser, AgencySubjects, FanoutSubjects int
	// ResyncPeriod is passed to the manager and sets the idle window.
	ResyncPeriod time.Duration
	// ListUsers is the size of the store-listing phase; 0 skips it.
	ListUsers int
	// Timeout bounds each size (and the listing phase).
	Timeout time.Duration
	// ManagerBin and StoreBin are the binaries under test; ManagerArgs are appended
	// to the manager's command line (experiments).
	ManagerBin, StoreBin string
	ManagerArgs          []string
	// AssetsDir holds kube-apiserver and etcd (KUBEBUILDER_ASSETS, see ResolveAssets).
	AssetsDir string
	// WorkDir receives the logs, databases and mails; "" makes a temporary one
	// (kept, and printed).
	WorkDir string
	// Out is the Markdown file whose bench-e2e region is replaced; "" writes none.
	Out string
	// JSONOut receives the results as JSON; "" means <WorkDir>.json, next to the
	// work directory.
	JSONOut string
	// Command is the command line as the report shows it.
	Command string
	// Notes is hand-written analysis (Markdown) the report region carries after the
	// table: what bounds each figure, kept in the repository (docs/bench-e2e-notes.md)
	// so that it is reviewed with the code and re-rendered with every run.
	Notes string
	// Stdout receives progress and the table; nil means os.Stdout.
	Stdout io.Writer
}

// DefaultConfig is the benchmark as `make bench-e2e` runs it.
func DefaultConfig() Config {
	return Config{
		Sizes:              []int{2000, 10000},
		Agencies:           4,
		EnvsPerAgency:      25,
		EnvBindingsPerUser: 2,
		AgencySubjects:     100,
		FanoutSubjects:     1000,
		ResyncPeriod:       2 * time.Minute,
		ListUsers:          100000,
		Timeout:            40 * time.Minute,
		ManagerBin:         "bin/manager",
		StoreBin:           "bin/studio-store",
		AssetsDir:          ResolveAssets(),
		Out:                "docs/benchmarks.md",
	}
}

func (c Config) shape(users int) OrgShape {
	return OrgShape{
		Users: users, Agencies: c.Agencies, EnvsPerAgency: c.EnvsPerAgency, EnvBindingsPerUser: c.EnvBindingsPerUser,
		AgencySubjects: c.AgencySubjects, FanoutSubjects: c.FanoutSubjects,
	}
}

// validate checks what can be checked in a second, before minutes of work.
func (c Config) validate() error {
	var errs []error
	if len(c.Sizes) == 0 {
		errs = append(errs, errors.New("no sizes"))
	}
	for _, s := range c.Sizes {
		if _, err := NewOrg(c.shape(s)); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ResyncPeriod <= 0 || c.Timeout <= 0 || c.ListUsers < 0 {
		errs = append(errs, errors.New("resync period and timeout must be positive, list-users not negative"))
	}
	if err := CheckAssets(c.AssetsDir); err != nil {
		errs = append(errs, err)
	}
	for _, bin := range []string{c.ManagerBin, c.StoreBin} {
		if info, err := os.Stat(bin); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("%s is not an executable: run `make build`", bin))
		}
	}
	return errors.Join(errs...)
}

// Results is everything one run measured; the report and the JSON are made from it.
type Results struct {
	Date         time.Time      `json:"date"`
	Command      string         `json:"command"`
	GoVersion    string         `json:"goVersion"`
	CPU          string         `json:"cpu"`
	Cores        int            `json:"cores"`
	LoadBefore   string         `json:"loadBefore"`
	LoadAfter    string         `json:"loadAfter"`
	ResyncPeriod string         `json:"resyncPeriod"`
	ManagerArgs  []string       `json:"managerArgs,omitempty"`
	WorkDir      string         `json:"workDir"`
	Sizes        []SizeResult   `json:"sizes"`
	Listing      *ListingResult `json:"listing,omitempty"`
	Notes        string         `json:"-"`
	ListingError string         `json:"listingError,omitempty"`
}

// SizeResult is one size: the floor run, the manager run and what was measured on
// the manager run.
type SizeResult struct {
	Users      int           `json:"users"`
	Counts     OrgCounts     `json:"counts"`
	Objects    int           `json:"objects"`
	Floor      RunResult     `json:"floor"`
	Manager    RunResult     `json:"manager"`
	Fanout     *FanoutResult `json:"fanout,omitempty"`
	Idle       *IdleResult   `json:"idle,omitempty"`
	RSS        *RSSResult    `json:"rss,omitempty"`
	Mails      *MailResult   `json:"mails,omitempty"`
	ManagerLog *logSummary   `json:"managerLog,omitempty"`
	StoreLog   *logSummary   `json:"storeLog,omitempty"`
	Errors     []string      `json:"errors,omitempty"`
}

// Ratio is manager/floor convergence time, 0 when either did not converge.
func (s SizeResult) Ratio() float64 {
	if !s.Floor.Converged || !s.Manager.Converged || s.Floor.ConvergeSeconds <= 0 {
		return 0
	}
	return s.Manager.ConvergeSeconds / s.Floor.ConvergeSeconds
}

// RunResult is one cold convergence.
type RunResult struct {
	Converged       bool    `json:"converged"`
	CreateSeconds   float64 `json:"createSeconds"`
	ConvergeSeconds float64 `json:"convergeSeconds"`
	CreateRetries   int64   `json:"createRetries"`
	// KindReadySeconds is when each kind was last all Ready, from the first create;
	// LastReady is the object whose readiness completed convergence.
	KindReadySeconds map[string]float64 `json:"kindReadySeconds,omitempty"`
	LastReady        string             `json:"lastReady,omitempty"`
	Cost             counters           `json:"cost"`
	NotReady         []string           `json:"notReady,omitempty"`
}

// IdleResult is one resync window with nothing changing.
type IdleResult struct {
	WindowSeconds    float64            `json:"windowSeconds"`
	StoreRequests    float64            `json:"storeRequests"`
	StorePer100Users float64            `json:"storePer100Users"`
	StoreByRoute     map[string]float64 `json:"storeByRoute,omitempty"`
	APIWrites        float64            `json:"apiWrites"`
	APIWritesBy      map[string]float64 `json:"apiWritesBy,omitempty"`
	AuditEntries     int                `json:"auditEntries"`
}

// RSSResult is the manager's memory.
type RSSResult struct {
	PeakMiB float64 `json:"peakMiB"`
	NowMiB  float64 `json:"nowMiB"`
}

// MailResult is the exactly-once check of invitations.
type MailResult struct {
	Sent  int `json:"sent"`
	Users int `json:"users"`
}

// studioNamespace holds the manager's invitation Secrets (its --namespace default).
const studioNamespace = "studio-system"

// Run runs the benchmark: per size a floor and a manager run, then the store
// listing; it writes the report and the JSON even when a phase failed (the report
// says which), and returns the failures.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "bench-e2e-")
		if err != nil {
			return nil, err
		}
		cfg.WorkDir = dir
	}
	workDir, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	if cfg.JSONOut == "" {
		cfg.JSONOut = strings.TrimSuffix(workDir, string(filepath.Separator)) + ".json"
	}
	say := func(format string, args ...any) { fmt.Fprintf(cfg.Stdout, "bench-e2e: "+format+"\n", args...) }
	say("work dir %s (logs, databases, mails)", workDir)
	closeLog, err := useHarnessLog(filepath.Join(workDir, "harness.log"))
	if err != nil {
		return nil, err
	}
	defer closeLog()

	res := &Results{
		Date: time.Now().UTC(), Command: cfg.Command, GoVersion: goVersion(), CPU: cpuModel(), Cores: runtime.NumCPU(),
		LoadBefore: loadAvg(), ResyncPeriod: cfg.ResyncPeriod.String(), ManagerArgs: cfg.ManagerArgs, WorkDir: workDir, Notes: cfg.Notes,
	}
	var errs []error
	for _, users := range cfg.Sizes {
		sr, err := runSize(ctx, cfg, users, filepath.Join(workDir, fmt.Sprintf("size-%d", users)), say)
		res.Sizes = append(res.Sizes, sr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%d users: %w", users, err))
			say("%d users: %v", users, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if cfg.ListUsers > 0 && ctx.Err() == nil {
		say("store listing: creating %d users", cfg.ListUsers)
		lctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		dir := filepath.Join(workDir, "listing")
		lr, err := func() (ListingResult, error) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return ListingResult{}, err
			}
			return benchListing(lctx, cfg.StoreBin, dir, cfg.ListUsers, func(s string) { say("%s", s) })
		}()
		cancel()
		res.Listing = &lr
		if err != nil {
			res.ListingError = err.Error()
			errs = append(errs, fmt.Errorf("store listing: %w", err))
		}
		say("store listing: %d pages, median %.1f ms, max %.1f ms", lr.Pages, lr.MedianMillis, lr.MaxMillis)
	}
	res.LoadAfter = loadAvg()

	region := RenderRegion(res)
	fmt.Fprintln(cfg.Stdout)
	fmt.Fprint(cfg.Stdout, region)
	switch {
	case ctx.Err() != nil:
		// Interrupted: a partial run must not replace the last complete report.
		say("interrupted: %s left as it was", cfg.Out)
		errs = append(errs, context.Cause(ctx))
	case cfg.Out != "":
		if err := WriteRegion(cfg.Out, region); err != nil {
			errs = append(errs, err)
		} else {
			say("wrote the report region of %s", cfg.Out)
		}
	}
	if err := writeJSON(cfg.JSONOut, res); err != nil {
		errs = append(errs, err)
	} else {
		say("wrote %s", cfg.JSONOut)
	}
	return res, errors.Join(errs...)
}

// runSize runs one size within cfg.Timeout.
func runSize(ctx context.Context, cfg Config, users int, dir string, say func(string, ...any)) (SizeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	org, err := NewOrg(cfg.shape(users))
	if err != nil {
		return SizeResult{Users: users}, err
	}
	sr := SizeResult{Users: users, Counts: org.Counts(), Objects: org.Counts().Tracked()}
	var errs []error
	fail := func(phase string, err error) {
		errs = append(errs, fmt.Errorf("%s: %w", phase, err))
		sr.Errors = append(sr.Errors, phase+": "+err.Error())
	}
	say("%d users: %d objects (agencies %d, environments %d, users %d, environment bindings %d, agency bindings %d)",
		users, sr.Objects, sr.Counts.Agencies, sr.Counts.Environments, sr.Counts.Users, sr.Counts.EnvBindings, sr.Counts.AgencyBindings)

	floorDir := filepath.Join(dir, "floor")
	if err := os.MkdirAll(floorDir, 0o755); err != nil {
		return sr, err
	}
	if sr.Floor, err = runFloor(ctx, cfg, users, floorDir, say); err != nil {
		fail("floor", err)
	} else {
		say("%d users: floor converged in %.1f s (creates took %.1f s)", users, sr.Floor.ConvergeSeconds, sr.Floor.CreateSeconds)
	}
	if ctx.Err() != nil {
		return sr, errors.Join(errs...)
	}
	mgrDir := filepath.Join(dir, "manager")
	if err := os.MkdirAll(mgrDir, 0o755); err != nil {
		return sr, errors.Join(append(errs, err)...)
	}
	if err := runManager(ctx, cfg, users, mgrDir, &sr, say); err != nil {
		fail("manager", err)
	}
	return sr, errors.Join(errs...)
}

// runFloor is the floor run: fresh control plane, floor controller, create, wait.
func runFloor(ctx context.Context, cfg Config, users int, dir string, say func(string, ...any)) (res RunResult, err error) {
	org, err := NewOrg(cfg.shape(users))
	if err != nil {
		return res, err
	}
	cp, err := startControlPlane(cfg.AssetsDir, dir)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, cp.stop()) }()
	fl, err := startFloor(ctx, cp.cfg, cp.scheme, ctrllog.Log.WithName("floor"))
	if err != nil {
		return res, err
	}
	defer fl.stop()
	tr, err := startTracker(ctx, cp.cfg, cp.scheme)
	if err != nil {
		return res, err
	}
	defer tr.stop()

	if err := warmUp(ctx, cp.client, org); err != nil {
		return res, err
	}
	var before, after counters
	if err := snapshot(ctx, cp, nil, nil, &before); err != nil {
		return res, err
	}
	res, err = converge(ctx, cp, tr, org, "floor", say)
	if err != nil {
		return res, err
	}
	if err := snapshot(ctx, cp, nil, nil, &after); err != nil {
		return res, err
	}
	res.Cost = after.sub(before)
	return res, nil
}

// converge creates org and waits until every object is Ready at its generation.
func converge(ctx context.Context, cp *controlPlane, tr *tracker, org *Org, what string, say func(string, ...any)) (RunResult, error) {
	var res RunResult
	objs := org.Objects()
	tr.expect(org.Counts().perKind())
	nss := make([]client.Object, 0, len(org.Namespaces))
	for _, ns := range org.Namespaces {
		nss = append(nss, ns)
	}
	start := time.Now()
	cr, err := createAll(ctx, cp.client, nss, objs)
	if err != nil {
		return res, err
	}
	res.CreateSeconds, res.CreateRetries = cr.Duration.Seconds(), cr.Retries
	at, err := tr.waitAllReady(ctx, what, func(s string) { say("%s", s) })
	if err != nil {
		res.NotReady = tr.notReady(20)
		return res, err
	}
	res.Converged = true
	res.ConvergeSeconds = at.Sub(start).Seconds()
	res.KindReadySeconds, res.LastReady = tr.timeline(start)
	return res, nil
}

// snapshot reads the counters of the control plane and, when given, the store and
// the manager.
func snapshot(ctx context.Context, cp *controlPlane, st *storeProc, mgr *managerProc, c *counters) error {
	api, err := cp.apiMetrics(ctx)
	if err != nil {
		return err
	}
	c.fromAPIServer(api)
	pids := map[string]int{}
	if st != nil {
		pids["store"] = st.Pid()
	}
	if mgr != nil {
		pids["manager"] = mgr.Pid()
	}
	if c.CPUSeconds, err = cpuSeconds(pids); err != nil {
		return err
	}
	if st != nil {
		ss, err := scrapeHTTP(ctx, st.url+"/metrics")
		if err != nil {
			return err
		}
		c.fromStore(ss)
	}
	if mgr != nil {
		ms, err := scrapeHTTP(ctx, mgr.metricsURL)
		if err != nil {
			return err
		}
		c.fromManager(ms)
	}
	return nil
}

// runManager is the manager run and the measurements made on it; it fills sr.
func runManager(ctx context.Context, cfg Config, users int, dir string, sr *SizeResult, say func(string, ...any)) (err error) {
	org, err := NewOrg(cfg.shape(users))
	if err != nil {
		return err
	}
	cp, err := startControlPlane(cfg.AssetsDir, dir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cp.stop()) }()
	if err := cp.ensureNamespace(ctx, studioNamespace); err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := cp.writeKubeconfig(kubeconfig); err != nil {
		return err
	}
	st, err := startStore(ctx, cfg.StoreBin, dir)
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, stopProc(st.Proc))
		if s, lerr := summarizeLog(st.LogPath, storeLogLine); lerr == nil {
			sr.StoreLog = &s
		}
	}()
	mgr, err := startManager(ctx, cfg.ManagerBin, dir, kubeconfig, st, cfg.ResyncPeriod, cfg.ManagerArgs)
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, stopProc(mgr.Proc))
		if s, lerr := summarizeLog(mgr.LogPath, managerLogLine); lerr == nil {
			sr.ManagerLog = &s
		}
	}()
	// A manager that dies ends the run at once instead of at the timeout.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-mgr.Done():
			cancel(mgr.ExitErr())
		case <-ctx.Done():
		}
	}()
	withCause := func(err error) error {
		if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			return fmt.Errorf("%w (%v)", err, cause)
		}
		return err
	}
	tr, err := startTracker(ctx, cp.cfg, cp.scheme)
	if err != nil {
		return err
	}
	defer tr.stop()
	sc, err := storeclient.New(st.url, storeclient.Options{Token: st.token, UserAgent: "bench-e2e", Manager: "bench-e2e"})
	if err != nil {
		return err
	}
	audit := &auditCursor{c: sc}

	if err := warmUp(ctx, cp.client, org); err != nil {
		return err
	}
	var before, after counters
	if err := snapshot(ctx, cp, st, mgr, &before); err != nil {
		return err
	}
	sr.Manager, err = converge(ctx, cp, tr, org, "manager", say)
	if err != nil {
		return withCause(err)
	}
	if err := snapshot(ctx, cp, st, mgr, &after); err != nil {
		return err
	}
	sr.Manager.Cost = after.sub(before)
	say("%d users: manager converged in %.1f s (creates took %.1f s)", users, sr.Manager.ConvergeSeconds, sr.Manager.CreateSeconds)

	fo, err := measureFanout(ctx, cp.client, tr, audit, sc, org.FanoutBinding())
	sr.Fanout = &fo
	if err != nil {
		return withCause(fmt.Errorf("fan-out: %w", err))
	}
	quietAt, quiet, err := waitQuiet(ctx, cp, audit)
	if err != nil {
		return withCause(fmt.Errorf("waiting for the fan-out to settle: %w", err))
	}
	fo.QuietSeconds, fo.Quiet = quietAt.Sub(fo.patchedAt).Seconds(), quiet
	sr.Fanout = &fo
	say("%d users: fan-out to %d subjects seen in the store after %.2f s; all Ready again after %.1f s; last write %.1f s after the patch",
		users, fo.Subjects, fo.Seconds, fo.ReadySeconds, fo.QuietSeconds)

	idle, err := measureIdle(ctx, cfg, cp, st, mgr, audit, users, say)
	sr.Idle = idle
	if err != nil {
		return withCause(fmt.Errorf("idle: %w", err))
	}
	sent, err := waitMails(ctx, st.mailDir, users)
	sr.Mails = &MailResult{Sent: sent, Users: users}
	if err != nil {
		return withCause(err)
	}
	peak, now, err := procMemory(mgr.Pid())
	if err != nil {
		return err
	}
	sr.RSS = &RSSResult{PeakMiB: peak, NowMiB: now}
	say("%d users: idle %.0f store requests, %.0f API writes, %d audit entries; %d mails; manager RSS peak %.0f MiB",
		users, idle.StoreRequests, idle.APIWrites, idle.AuditEntries, sent, peak)
	return nil
}

// measureIdle waits one resync period (×1.1 for the manager's jitter, plus 15 s) with
// nothing changing and counts what the manager still does. The audit log is read
// before the first and after the last metrics scrape, so the harness's own audit
// reads are not counted as store requests.
func measureIdle(ctx context.Context, cfg Config, cp *controlPlane, st *storeProc, mgr *managerProc, audit *auditCursor, users int, say func(string, ...any)) (*IdleResult, error) {
	window := cfg.ResyncPeriod*11/10 + 15*time.Second
	if _, err := audit.advance(ctx, nil); err != nil {
		return nil, err
	}
	var before, after counters
	if err := snapshot(ctx, cp, st, mgr, &before); err != nil {
		return nil, err
	}
	say("%d users: idle for %s (one resync period)", users, window.Round(time.Second))
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(window):
	}
	if err := snapshot(ctx, cp, st, mgr, &after); err != nil {
		return nil, err
	}
	entries, err := audit.advance(ctx, nil)
	if err != nil {
		return nil, err
	}
	d := after.sub(before)
	return &IdleResult{
		WindowSeconds:    window.Seconds(),
		StoreRequests:    d.StoreRequests,
		StorePer100Users: d.StoreRequests / float64(users) * 100,
		StoreByRoute:     d.StoreByRoute,
		APIWrites:        d.APIWrites,
		APIWritesBy:      d.APIWritesBy,
		AuditEntries:     entries,
	}, nil
}
