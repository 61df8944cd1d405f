package scale

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smokeTimeout bounds the whole smoke run (build included); it usually takes one to
// two minutes on the 2-core machine.
const smokeTimeout = 6 * time.Minute

// TestSmoke runs the whole pipeline at a tiny size, so that `go test ./...` proves
// the harness still works against the current manager and store: both runs
// converge, the fan-out reaches every subject in the store, every user gets exactly
// one mail, the listing pages through the store, and the report region is written
// and then replaced without touching the rest of the file. Without the control-plane
// binaries it fails: a benchmark that silently skips is a benchmark nobody runs.
func TestSmoke(t *testing.T) {
	assets := os.Getenv(AssetsEnv)
	if err := CheckAssets(assets); err != nil {
		t.Fatalf("%v (the smoke test needs kube-apiserver and etcd; `make test` builds them)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), smokeTimeout)
	defer cancel()
	if dl, ok := t.Deadline(); ok {
		var c context.CancelFunc
		ctx, c = context.WithDeadline(ctx, dl.Add(-30*time.Second))
		defer c()
	}

	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator), "./cmd/manager", "./cmd/studio-store")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	out := filepath.Join(t.TempDir(), "benchmarks.md")
	const before = "# Benchmarks\n\nWritten by hand; must survive.\n"
	if err := os.WriteFile(out, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cfg := DefaultConfig()
	cfg.Sizes = []int{20}
	cfg.Agencies, cfg.EnvsPerAgency, cfg.EnvBindingsPerUser = 1, 2, 2
	cfg.AgencySubjects, cfg.FanoutSubjects = 5, 10
	cfg.ResyncPeriod = 10 * time.Second
	cfg.ListUsers = 2000
	cfg.Timeout = 4 * time.Minute
	cfg.ManagerBin = filepath.Join(bin, "manager")
	cfg.StoreBin = filepath.Join(bin, "studio-store")
	cfg.AssetsDir = assets
	cfg.WorkDir = filepath.Join(work, "run")
	cfg.Out = out
	cfg.JSONOut = filepath.Join(work, "results.json")
	cfg.Command = "go test ./test/scale -run TestSmoke"
	cfg.Stdout = testWriter{t}

	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	if len(res.Sizes) != 1 {
		t.Fatalf("%d size results, want 1", len(res.Sizes))
	}
	s := res.Sizes[0]
	if want := (OrgCounts{Namespaces: 1, Agencies: 1, Environments: 2, Users: 20, EnvBindings: 40, AgencyBindings: 3, FanoutSubjects: 10}); s.Counts != want {
		t.Errorf("counts = %+v, want %+v", s.Counts, want)
	}
	for name, r := range map[string]RunResult{"floor": s.Floor, "manager": s.Manager} {
		if !r.Converged || r.ConvergeSeconds <= 0 || r.ConvergeSeconds < r.CreateSeconds {
			t.Errorf("%s: converged %v in %.2f s (creates %.2f s); not ready: %v", name, r.Converged, r.ConvergeSeconds, r.CreateSeconds, r.NotReady)
		}
		// Every object was created (a POST each) and written at least once more
		// (its Ready status).
		if r.Cost.APIWrites < 2*float64(s.Objects) {
			t.Errorf("%s: %v API writes for %d objects", name, r.Cost.APIWrites, s.Objects)
		}
	}
	if s.Manager.Cost.StoreRequests <= 0 || s.Manager.Cost.ManagerREST <= 0 {
		t.Errorf("manager run: no store requests (%v) or manager API requests (%v) counted", s.Manager.Cost.StoreRequests, s.Manager.Cost.ManagerREST)
	}
	if f := s.Fanout; f == nil || f.Subjects != 10 || f.Observed != 10 || f.Sampled != 10 || f.Verified != 10 || f.Seconds <= 0 {
		t.Errorf("fan-out = %+v, want all 10 subjects seen and verified with %s at %s", f, FanoutRole, FanoutAgency)
	}
	if s.Idle == nil || s.Idle.WindowSeconds < 26 {
		t.Errorf("idle = %+v, want a window of 1.1 × 10 s + 15 s", s.Idle)
	}
	if s.Mails == nil || s.Mails.Sent != 20 || s.Mails.Users != 20 {
		t.Errorf("mails = %+v, want 20 for 20 users", s.Mails)
	}
	if s.RSS == nil || s.RSS.PeakMiB <= 0 || s.RSS.NowMiB <= 0 || s.RSS.NowMiB > s.RSS.PeakMiB {
		t.Errorf("rss = %+v", s.RSS)
	}
	if l := res.Listing; l == nil || l.Listed != 2000 || l.Pages != 2 || l.MaxMillis <= 0 {
		t.Errorf("listing = %+v, want 2000 users in 2 pages", l)
	}

	// The report: appended with its heading after the hand-written part, holding
	// the table; then replaced in place, with text after it kept as well.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if !strings.HasPrefix(doc, before) {
		t.Errorf("the hand-written part changed:\n%s", doc)
	}
	for _, want := range []string{RegionHeading, RegionBegin, RegionEnd, "| metric | target | 20 users |", "| ratio manager / floor |", "| invitation mails sent / users | = users | 20 / 20 met |"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	const after = "\n## Something else\n\nAlso by hand.\n"
	doc += after
	if err := os.WriteFile(out, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteRegion(out, RenderRegion(res)); err != nil {
		t.Fatal(err)
	}
	if b, _ = os.ReadFile(out); string(b) != doc {
		t.Errorf("rewriting the same region changed the file:\n%s", b)
	}
	if err := WriteRegion(out, "replaced\n"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(out)
	wantDoc := before + "\n" + RegionHeading + "\n\n" + RegionBegin + "\nreplaced\n" + RegionEnd + "\n" + after
	if string(b) != wantDoc {
		t.Errorf("after replacing the region:\n%s\nwant:\n%s", b, wantDoc)
	}

	var fromJSON Results
	raw, err := os.ReadFile(cfg.JSONOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fromJSON); err != nil || len(fromJSON.Sizes) != 1 || fromJSON.Sizes[0].Manager.ConvergeSeconds != s.Manager.ConvergeSeconds {
		t.Errorf("results JSON: %v, %+v", err, fromJSON.Sizes)
	}
}

// testWriter sends the harness's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
