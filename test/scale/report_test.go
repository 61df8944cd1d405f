package scale

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReplaceRegion(t *testing.T) {
	region := "new\ncontent\n"
	marked := func(before, inside, after string) string {
		return before + RegionBegin + "\n" + inside + RegionEnd + "\n" + after
	}
	appended := RegionHeading + "\n\n" + RegionBegin + "\n" + region + RegionEnd + "\n"
	tests := []struct {
		name    string
		doc     string
		want    string
		wantErr bool
	}{
		{name: "empty file", doc: "", want: appended},
		{name: "no markers", doc: "# Benchmarks\n\ntext\n", want: "# Benchmarks\n\ntext\n\n" + appended},
		{name: "no markers, no final newline", doc: "# B\ntext", want: "# B\ntext\n\n" + appended},
		{name: "no markers, blank line at the end", doc: "# B\n\n", want: "# B\n\n" + appended},
		{name: "replace", doc: marked("# B\n\n"+RegionHeading+"\n\n", "old\n", "\n## Later\n"), want: marked("# B\n\n"+RegionHeading+"\n\n", region, "\n## Later\n")},
		{name: "empty region replaced", doc: marked("a\n", "", "b\n"), want: marked("a\n", region, "b\n")},
		{name: "end marker without newline", doc: "a\n" + RegionBegin + "\nold\n" + RegionEnd, want: "a\n" + RegionBegin + "\n" + region + RegionEnd},
		{name: "indented markers", doc: "  " + RegionBegin + "\nold\n  " + RegionEnd + "\n", want: "  " + RegionBegin + "\n" + region + "  " + RegionEnd + "\n"},
		{name: "only begin", doc: "a\n" + RegionBegin + "\nb\n", wantErr: true},
		{name: "only end", doc: "a\n" + RegionEnd + "\n", wantErr: true},
		{name: "end before begin", doc: RegionEnd + "\n" + RegionBegin + "\n", wantErr: true},
		{name: "two regions", doc: marked("", "x\n", "") + marked("", "y\n", ""), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReplaceRegion(tt.doc, region)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			if err == nil {
				// Idempotent: replacing again with the same region changes nothing.
				again, err := ReplaceRegion(got, region)
				if err != nil || again != got {
					t.Errorf("second replacement changed the document: %v\n%q", err, again)
				}
			}
		})
	}
}

func TestWriteRegionKeepsTheRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(path, []byte("# Benchmarks\n\nhand-written\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteRegion(path, "first\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	doc := string(b) + "\n## After\n\nmore text\n"
	if err := os.WriteFile(path, []byte(doc), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteRegion(path, "second\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := strings.Replace(doc, "first\n", "second\n", 1)
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("mode changed: %v %v", info.Mode(), err)
	}
}

func TestFmtCount(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 30195: "30,195", 1234567: "1,234,567", -4000: "-4,000", 1.5: "1.50"} {
		if got := fmtCount(in); got != want {
			t.Errorf("fmtCount(%v) = %q, want %q", in, got, want)
		}
	}
}

// The rendered region holds every row of the table with verdicts, for a complete
// and for a failed size.
func TestRenderRegion(t *testing.T) {
	ok := SizeResult{
		Users: 2000, Objects: 6115, Counts: OrgCounts{Users: 2000, FanoutSubjects: 1000},
		Floor:   RunResult{Converged: true, CreateSeconds: 10, ConvergeSeconds: 20, Cost: counters{APIWrites: 12230}},
		Manager: RunResult{Converged: true, CreateSeconds: 10, ConvergeSeconds: 25, Cost: counters{APIWrites: 20000, StoreRequests: 9000, ManagerREST: 15000}},
		Fanout:  &FanoutResult{Subjects: 1000, Observed: 1000, Seconds: 2.5, Verified: 20, Sampled: 20},
		Idle:    &IdleResult{WindowSeconds: 147, StoreRequests: 40, StorePer100Users: 2, APIWrites: 0, AuditEntries: 0},
		RSS:     &RSSResult{PeakMiB: 120, NowMiB: 100},
		Mails:   &MailResult{Sent: 2000, Users: 2000},
	}
	failed := SizeResult{Users: 10000, Objects: 30195, Errors: []string{"manager: timed out\nsecond line"}}
	r := &Results{Date: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Command: "go run ./hack/bench-e2e", Sizes: []SizeResult{ok, failed},
		Listing: &ListingResult{Users: 100000, Pages: 100, Listed: 100000, MedianMillis: 12, MaxMillis: 60}}
	out := RenderRegion(r)
	for _, want := range []string{
		"| metric | target | 2,000 users | 10,000 users |",
		"| ratio manager / floor | ≤ 1.5× | 1.25× met | - |",
		"| 2.50 (1,000 subjects) met | - |",
		"| idle store requests per resync, per 100 users | ≤ 1 | 2.00 **missed** | - |",
		"| idle API writes per resync | 0 | 0 met | - |",
		"| 120 met | - |",
		"| API server writes / object, floor (incl. the create) | - | 2.00 | - |",
		"| invitation mails sent / users | = users | 2,000 / 2,000 met | - |",
		"| max page latency (ms) | ≤ 50 each | 60.0 **missed** |",
		"**failed**: manager: timed out second line",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("region lacks %q:\n%s", want, out)
		}
	}
}

// A run's JSON re-renders into the same table, with the notes given now.
func TestRerenderUsesTheNewNotes(t *testing.T) {
	dir := t.TempDir()
	res := &Results{Date: time.Unix(1_700_000_000, 0).UTC(), Command: "bench", Cores: 2, Notes: "old notes",
		Sizes: []SizeResult{{Users: 20, Objects: 60,
			Floor:   RunResult{Converged: true, ConvergeSeconds: 2},
			Manager: RunResult{Converged: true, ConvergeSeconds: 3}}}}
	jsonPath, doc := filepath.Join(dir, "run.json"), filepath.Join(dir, "benchmarks.md")
	if err := writeJSON(jsonPath, res); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, []byte("# Benchmarks\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Rerender(jsonPath, "what bounds it, revised", doc); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if !strings.Contains(out, "what bounds it, revised") || strings.Contains(out, "old notes") || !strings.Contains(out, "1.50×") {
		t.Errorf("re-rendered region lacks the new notes or the run's ratio:\n%s", out)
	}
}

// Shares are clock ticks, so ties are common; a tie must not reorder the report
// between two renderings of the same results.
func TestCPUSharesOrderIsStable(t *testing.T) {
	cpu := map[string]float64{"store": 0.1, "harness": 0.2, "etcd": 0.2, "manager": 0.3, "kube-apiserver": 1.5}
	want := "kube-apiserver 1.5 s, manager 0.3 s, etcd 0.2 s, harness 0.2 s, store 0.1 s, total 2.3 s of the 2.4 s that 2 cores offered (96%)"
	for range 50 {
		if got := cpuShares(cpu, 1.2, 2); got != want {
			t.Fatalf("cpuShares:\n got %s\nwant %s", got, want)
		}
	}
}
