package observability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator"
	"github.com/studio-operator/studio-operator/internal/store"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
	"github.com/studio-operator/studio-operator/internal/storeserver"
)

// Where a metric must come from.
const (
	fromManager = "manager"
	fromStore   = "store"
	fromBoth    = "manager and store" // Go and process metrics, which both serve
)

// syntheticSeries are written by Prometheus for every target, not exported by it.
var syntheticSeries = map[string]bool{"up": true}

// targetLabels are attached by Prometheus and the ServiceMonitors (the target's
// job and instance, the Kubernetes metadata), not exported.
var targetLabels = map[string]bool{
	"job": true, "instance": true, "namespace": true, "pod": true, "service": true, "endpoint": true, "container": true,
}

// sourceOf says which process exports metric: the store's are studio_store_*; the
// operator's own and controller-runtime's and client-go's are served by the manager.
func sourceOf(metric string) string {
	switch {
	case strings.HasPrefix(metric, "studio_store_"):
		return fromStore
	case strings.HasPrefix(metric, "studio_operator_"), strings.HasPrefix(metric, "controller_runtime_"),
		strings.HasPrefix(metric, "workqueue_"), strings.HasPrefix(metric, "rest_client_"),
		strings.HasPrefix(metric, "leader_election_"):
		return fromManager
	default:
		return fromBoth
	}
}

// The activity that gives the labelled metric vectors their children.
const (
	secretsNamespace = "studio-system"
	homeNamespace    = "acme-home"
	instanceID       = "observability"
	// refusedRecipient is refused by the test's mail server with 550, so the store
	// records failed delivery attempts.
	refusedRecipient = "bounce@example.com"
	// convergeTimeout bounds the wait for every referenced metric to be exported.
	convergeTimeout = 45 * time.Second
)

// TestReferencedMetricsAreExported starts the real manager (envtest, the four
// reconcilers, leader election, its metrics server) and the real store
// (storeserver.Start, as `studio-store serve`, with SMTP delivery to a local server),
// drives them through invitations, grants, a refused mail, a duplicate email and a
// change made in the Studio behind the operator's back, and scrapes both /metrics
// until every metric the dashboard and the alerts select is there.
//
// The store is storeserver's and not internal/storeserver/teststore's: teststore's
// /metrics serves only the HTTP metrics, without the mail worker's or the Go and
// process collectors, which the real server registers.
func TestReferencedMetricsAreExported(t *testing.T) {
	start := time.Now()
	refs := referencedMetrics(t)
	sys := startSystem(t)
	t.Logf("manager and store up after %s", time.Since(start).Round(time.Millisecond))
	sys.driveActivity(t)

	var pages map[string]exposition
	var missing []string
	activity := time.Now()
	deadline := activity.Add(convergeTimeout)
	for first := true; ; first = false {
		pages = sys.scrape(t)
		missing = missingMetrics(refs, pages)
		if first {
			t.Logf("right after the activity started, not yet exported: %v", missing)
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-sys.managerStopped:
			t.Fatalf("manager stopped: %v", sys.managerErr)
		case <-time.After(250 * time.Millisecond):
		}
	}
	for _, m := range missing {
		t.Errorf("%s is referenced but not exported by the %s after %s; referenced in:\n\t%s",
			m, sourceOf(m), convergeTimeout, strings.Join(refs[m].where, "\n\t"))
	}
	for _, problem := range unknownLabels(refs, pages) {
		t.Error(problem)
	}

	if t.Failed() {
		return
	}
	var checked strings.Builder
	for _, m := range sortedKeys(refs) {
		src := sourceOf(m)
		if syntheticSeries[m] {
			src = "Prometheus (synthetic, not checked)"
		}
		fmt.Fprintf(&checked, "\n\t%-55s %s", m, src)
	}
	t.Logf("all exported %s after the activity started; %d metrics checked in %s:%s",
		time.Since(activity).Round(time.Millisecond), len(refs), time.Since(start).Round(time.Millisecond), checked.String())
}

// reference is one referenced metric: where it is selected, and where each label
// name is matched on.
type reference struct {
	where  []string
	labels map[string][]string
}

// referencedMetrics lexes every expression of the dashboard and the rules.
func referencedMetrics(t *testing.T) map[string]*reference {
	t.Helper()
	refs := map[string]*reference{}
	for _, e := range expressions(t) {
		sels, err := selectors(e.expr)
		if err != nil {
			t.Fatalf("%s: %v\n%s", e.where, err, e.expr)
		}
		for _, s := range sels {
			r := refs[s.Metric]
			if r == nil {
				r = &reference{labels: map[string][]string{}}
				refs[s.Metric] = r
			}
			if !slices.Contains(r.where, e.where) {
				r.where = append(r.where, e.where)
			}
			for _, l := range s.Labels {
				if !slices.Contains(r.labels[l], e.where) {
					r.labels[l] = append(r.labels[l], e.where)
				}
			}
		}
	}
	if len(refs) < 20 {
		t.Fatalf("only %d metrics referenced; the expressions were not read", len(refs))
	}
	return refs
}

// missingMetrics lists the referenced metrics a page that should export them lacks.
func missingMetrics(refs map[string]*reference, pages map[string]exposition) []string {
	var out []string
	for m := range refs {
		if syntheticSeries[m] {
			continue
		}
		for _, src := range sourcesOf(m) {
			if !pages[src].has(m) {
				out = append(out, m)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// unknownLabels lists the label names selectors match on that the metric's samples
// do not carry (a misspelt label silently selects nothing).
func unknownLabels(refs map[string]*reference, pages map[string]exposition) []string {
	var out []string
	for m, r := range refs {
		if syntheticSeries[m] {
			continue
		}
		for _, src := range sourcesOf(m) {
			exported := pages[src].labels(m)
			if exported == nil {
				continue
			}
			for l, where := range r.labels {
				if !targetLabels[l] && !exported[l] {
					out = append(out, fmt.Sprintf("%s: label %s is matched on but the %s does not export it (it has %v); in:\n\t%s",
						m, l, src, keys(exported), strings.Join(where, "\n\t")))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func sourcesOf(m string) []string {
	if s := sourceOf(m); s != fromBoth {
		return []string{s}
	}
	return []string{fromManager, fromStore}
}

func keys(m map[string]bool) []string { return sortedKeys(m) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// system is a running control plane, store and manager.
type system struct {
	k8s        client.Client
	person     store.API // a client of the store without manager: someone in the Studio
	storeURL   string
	managerURL string
	// managerStopped is closed when the manager's Start returns, with managerErr.
	managerStopped chan struct{}
	managerErr     error
}

func startSystem(t *testing.T) *system {
	t.Helper()
	setLoggers()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assetsDir(),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("envtest stop: %v", err)
		}
	})
	scheme, err := operator.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	sys := &system{managerStopped: make(chan struct{})}
	if sys.k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{secretsNamespace, homeNamespace} {
		if err := sys.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}

	token := randomHex(t)
	srv := startStore(t, ctx, token, startRefusingSMTP(t))
	sys.storeURL = srv.URL()
	if sys.person, err = storeclient.New(sys.storeURL, storeclient.Options{Token: token}); err != nil {
		t.Fatal(err)
	}
	startManager(t, ctx, cfg, sys, token)
	return sys
}

// startStore runs the store as `studio-store serve` does, on SQLite in a temp dir.
func startStore(t *testing.T, ctx context.Context, token, smtpAddr string) *storeserver.Server {
	t.Helper()
	dir := t.TempDir()
	cfg := storeserver.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DB = "sqlite:///" + filepath.Join(dir, "studio.db")
	cfg.AdminToken = token
	cfg.SMTPURL = "smtp://" + smtpAddr
	cfg.MailDir = ""
	cfg.MailPollInterval = 100 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	srv, err := storeserver.Start(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("store shutdown: %v", err)
		}
	})
	return srv
}

// startManager runs the operator's manager as cmd/manager does, with leader election
// (so the leader metric exists) and its metrics server on a free local port.
func startManager(t *testing.T, ctx context.Context, cfg *rest.Config, sys *system, token string) {
	t.Helper()
	st, err := operator.NewStoreClient(sys.storeURL, token, instanceID, "observability-test")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	sys.managerURL = "http://" + addr
	shutdown := 5 * time.Second
	mgr, err := operator.NewManager(cfg, operator.Options{
		Controllers: controllers.Options{
			Store:           st,
			InstanceID:      instanceID,
			Namespace:       secretsNamespace,
			ResyncPeriod:    2 * time.Second,
			DependencyRetry: time.Second,
			MaxRetryDelay:   time.Second,
		},
		LeaderElection:          true,
		LeaderElectionNamespace: secretsNamespace,
		MetricsBindAddress:      addr,
		HealthProbeBindAddress:  "0",
		GracefulShutdownTimeout: &shutdown,
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	go func() {
		sys.managerErr = mgr.Start(mctx)
		close(sys.managerStopped)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-sys.managerStopped:
			if sys.managerErr != nil {
				t.Errorf("manager: %v", sys.managerErr)
			}
		case <-time.After(2 * shutdown):
			t.Error("manager did not stop")
		}
	})
	// A manager that fails to start (its metrics port taken meanwhile) never syncs
	// its cache: stop waiting then.
	syncCtx, cancelSync := context.WithTimeout(mctx, time.Minute)
	defer cancelSync()
	go func() {
		select {
		case <-sys.managerStopped:
			cancelSync()
		case <-syncCtx.Done():
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		select {
		case <-sys.managerStopped:
			t.Fatalf("manager stopped: %v", sys.managerErr)
		default:
			t.Fatal("manager cache did not sync within a minute")
		}
	}
}

// driveActivity creates an agency with an environment, two users bound to it (one
// whose invitation mail the mail server refuses), a user with an email already in
// use, and changes a user's name in the Studio, so that every labelled vector the
// dashboard and alerts use has children: reconciles and grants, store requests and
// store errors, invitations, failed mail attempts, drift.
func (s *system) driveActivity(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	create := func(obj client.Object) {
		t.Helper()
		if err := s.k8s.Create(ctx, obj); err != nil {
			t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
	create(&iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: "acme"},
		Spec: iamv1.AgencySpec{DisplayName: "Acme", HomeNamespace: homeNamespace}})
	create(&iamv1.Environment{ObjectMeta: metav1.ObjectMeta{Namespace: homeNamespace, Name: "prod"},
		Spec: iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: "acme"}, DisplayName: "Production"}})
	ana := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: "ana"},
		Spec: iamv1.StudioUserSpec{Email: "ana@example.com", DisplayName: "Ana"}}
	create(ana)
	create(&iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: "bounce"},
		Spec: iamv1.StudioUserSpec{Email: refusedRecipient, DisplayName: "Bounce"}})
	create(&iamv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: homeNamespace, Name: "agents"},
		Spec: iamv1.RoleBindingSpec{
			Scope:    iamv1.BindingScope{Environment: "prod"},
			Subjects: []iamv1.Subject{{Name: "ana"}, {Name: "bounce"}},
			Roles:    []iamv1.Role{iamv1.RoleAgent},
		}})

	waitFor(t, "StudioUser ana Ready", func() (bool, error) {
		if err := s.k8s.Get(ctx, client.ObjectKeyFromObject(ana), ana); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(ana.Status.Conditions, iamv1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == ana.Generation, nil
	})

	// Another StudioUser with ana's email: the store answers email-in-use.
	create(&iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: "ana-again"},
		Spec: iamv1.StudioUserSpec{Email: "ana@example.com", DisplayName: "Ana again"}})

	// A person renames ana in the Studio; the next resync sets the name back.
	u, err := s.person.GetUser(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	spec := u.Spec()
	spec.DisplayName = "Renamed in the Studio"
	if _, _, err := s.person.PutUser(ctx, store.Caller{}, "ana", spec); err != nil {
		t.Fatal(err)
	}
}

// scrape fetches both /metrics pages.
func (s *system) scrape(t *testing.T) map[string]exposition {
	t.Helper()
	pages := map[string]exposition{}
	for src, url := range map[string]string{fromManager: s.managerURL + "/metrics", fromStore: s.storeURL + "/metrics"} {
		page, err := scrapePage(url)
		if err != nil {
			t.Fatalf("scrape %s: %v", src, err)
		}
		pages[src] = page
	}
	return pages
}

func scrapePage(url string) (exposition, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return exposition{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exposition{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return exposition{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return exposition{}, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return parseExposition(string(body))
}

// startRefusingSMTP runs an SMTP server on 127.0.0.1 that accepts every mail except
// those to refusedRecipient, which it refuses permanently (550 5.1.1).
func startRefusingSMTP(t *testing.T) string {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return l.Addr().String()
}

type smtpSession struct{}

func (*smtpSession) Mail(string, *smtp.MailOptions) error { return nil }

func (*smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.EqualFold(to, refusedRecipient) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	}
	return nil
}

func (*smtpSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (*smtpSession) Reset()        {}
func (*smtpSession) Logout() error { return nil }

// waitFor polls cond until it holds, for up to 30 seconds.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within 30s (last error: %v)", what, lastErr)
}

// assetsDir is KUBEBUILDER_ASSETS, else the repository's envtest binaries
// (make envtest-assets).
func assetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(repoRoot, "bin", "k8s", "1.37.2-linux-amd64")
}

// setLoggers silences controller-runtime and client-go (leader election logs through
// klog), unless TEST_VERBOSE is set.
func setLoggers() {
	logger := logr.Discard()
	if os.Getenv("TEST_VERBOSE") != "" {
		logger = zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true))
	}
	logf.SetLogger(logger)
	klog.SetLogger(logger)
}

// freeAddr returns a 127.0.0.1 address with a port free a moment ago: the manager's
// metrics server binds it itself and does not report the port it got for ":0".
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
