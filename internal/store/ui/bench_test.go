package ui

import (
	"context"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auditcheck"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
)

// The pages at scale: 100,000 users in 10 agencies of 10 environments each (every
// user has an agency grant, every fourth an environment grant too, every tenth is
// suspended, every third was active), about 225,000 audit entries. The store is built
// once per machine and kept in the user cache directory (seeding takes a minute or
// two); STUDIO_UI_BENCH_USERS picks another size.
const (
	benchUsersDefault = 100000
	benchAgencies     = 10
	benchEnvsPerAg    = 10
	// benchSeedVersion names the shape above; a cached store of another shape is not
	// reused.
	benchSeedVersion = "v1"
)

func benchUserCount(b *testing.B) int {
	if v := os.Getenv("STUDIO_UI_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("STUDIO_UI_BENCH_USERS=%q: want a number of at least 100", v)
		}
		return n
	}
	return benchUsersDefault
}

func benchUserKey(i int) string { return fmt.Sprintf("user-%06d", i) }

func benchEnvKey(agency, env int) string {
	return fmt.Sprintf("agency-%02d-team-%02d.prod", agency, env)
}

// openBenchStore opens the cached store of n users, seeding it first if needed.
func openBenchStore(b *testing.B, n int) *sqlstore.Store {
	b.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "studio-operator", "ui-bench")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.db", benchSeedVersion, n))
	done := path + ".seeded"
	if _, err := os.Stat(done); err != nil {
		for _, suffix := range []string{"", "-wal", "-shm", ".link-key"} {
			_ = os.Remove(path + suffix)
		}
		st, err := sqlstore.Open(context.Background(), "sqlite://"+path, sqlstore.Options{PublicURL: "http://127.0.0.1:1"})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		seedBench(b, st, n)
		b.Logf("seeded %d users in %s into %s", n, time.Since(start).Round(time.Second), path)
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(done, nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	st, err := sqlstore.Open(context.Background(), "sqlite://"+path, sqlstore.Options{PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st
}

// seedBench writes the organisation with concurrent writers, as the operator does, so
// the store commits them in batches.
func seedBench(b *testing.B, st *sqlstore.Store, n int) {
	ctx := context.Background()
	c := store.Caller{Actor: "operator", Manager: "default", Source: "bench"}
	for a := range benchAgencies {
		if _, _, err := st.PutAgency(ctx, c, fmt.Sprintf("agency-%02d", a), store.AgencySpec{DisplayName: fmt.Sprintf("Agency %d", a)}); err != nil {
			b.Fatal(err)
		}
		for e := range benchEnvsPerAg {
			spec := store.EnvironmentSpec{Agency: fmt.Sprintf("agency-%02d", a), DisplayName: fmt.Sprintf("Team %d of agency %d", e, a)}
			if _, _, err := st.PutEnvironment(ctx, c, benchEnvKey(a, e), spec); err != nil {
				b.Fatal(err)
			}
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := seedBenchUser(ctx, st, c, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func seedBenchUser(ctx context.Context, st *sqlstore.Store, c store.Caller, i int) error {
	key := benchUserKey(i)
	spec := store.UserSpec{Email: key + "@example.com", DisplayName: fmt.Sprintf("Person %d", i), Type: cascade.UserTypeUser, Locale: "en", Suspended: i%10 == 9}
	if i%7 == 3 {
		spec.Type = cascade.UserTypeAgent
	}
	if _, _, err := st.PutUser(ctx, c, key, spec); err != nil {
		return err
	}
	agency := i % benchAgencies
	grants := []store.Grant{{Scope: store.Scope{Agency: fmt.Sprintf("agency-%02d", agency)}, Roles: []cascade.Role{cascade.Agent}}}
	if i%4 == 0 {
		grants = append(grants, store.Grant{Scope: store.Scope{Environment: benchEnvKey(agency, i%benchEnvsPerAg)}, Roles: []cascade.Role{cascade.Operator}})
	}
	if _, err := st.PutGrants(ctx, c, key, grants); err != nil {
		return err
	}
	if i%3 == 0 {
		if _, err := st.RecordActivity(ctx, c, key); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkPages serves the pages from a store of 100,000 users, signed in; each
// sub-benchmark is one page. The target is 100 ms a page (docs/ui.md).
func BenchmarkPages(b *testing.B) {
	n := benchUserCount(b)
	st := openBenchStore(b, n)
	// The audit page's chain check runs in the background; the pages are measured
	// with a recent one, as people see them (its own cost is audit/chain-check): the
	// checker's clock stands still, so its first result never goes stale.
	frozen := time.Now()
	audit := auditcheck.New(st, auditcheck.Options{Now: func() time.Time { return frozen }})
	h, err := New(st, &auth.Tokens{}, Options{Audit: audit})
	if err != nil {
		b.Fatal(err)
	}
	id, _ := h.sessions.create(auth.Principal{Subject: "bench", Role: auth.RoleReader})
	ctx := context.Background()

	// Positions halfway through the overview, as after paging there: by key, and by
	// last activity, most recent first.
	middleOf := func(f store.UserFilter) string {
		f.Limit = 1000
		for seen := 0; seen < n/2; seen += f.Limit {
			page, err := st.ListUsers(ctx, f)
			if err != nil || page.Next == nil {
				b.Fatalf("listing to the middle (%+v): %v", f, err)
			}
			f.Cursor = *page.Next
		}
		return scanPosition{cursor: f.Cursor}.encode()
	}
	middle := middleOf(store.UserFilter{})
	middleByActivity := middleOf(store.UserFilter{Order: store.OrderByLastActive, Desc: true})
	if r := audit.Check(ctx); !r.OK {
		b.Fatalf("chain check: %+v", r)
	}
	mid := benchUserKey(n / 2)

	for _, tc := range []struct{ name, path string }{
		{"overview/first-page", "/ui/users"},
		{"overview/middle-page", "/ui/users?page=1000&pos=" + middle},
		{"overview/sorted-by-created", "/ui/users?dir=desc&sort=created"},
		{"overview/sorted-by-last-active-middle-page", "/ui/users?dir=desc&page=1000&pos=" + middleByActivity + "&sort=lastActive"},
		{"overview/search-by-name", "/ui/users?q=person+1234"},
		{"overview/search-no-match", "/ui/users?q=nobody-is-called-this"},
		{"overview/search-by-email", "/ui/users?q=" + mid + "%40example.com"},
		{"overview/state-suspended", "/ui/users?state=Suspended"},
		{"overview/agency", "/ui/users?agency=agency-03"},
		{"overview/environment", "/ui/users?environment=" + benchEnvKey(4, 4)},
		{"overview/environment-without-grants", "/ui/users?environment=" + benchEnvKey(3, 3)},
		{"panel/details", "/ui/users/" + mid},
		{"panel/access", "/ui/users/" + mid + "/access"},
		{"panel/audit", "/ui/users/" + mid + "/audit"},
		{"environment", "/ui/environments/" + benchEnvKey(4, 4)},
		{"audit/newest", "/ui/audit"},
		{"audit/environment", "/ui/audit?environment=" + benchEnvKey(4, 4)},
		{"audit/agency", "/ui/audit?agency=agency-04"},
		{"audit/user", "/ui/audit?user=" + mid},
		{"audit/actor", "/ui/audit?actor=operator"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", tc.path, rec.Code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
	b.Run("overview/every-page", func(b *testing.B) { benchEveryOverviewPage(b, h, st, id, n) })
	// The chain check behind the audit page's badge runs in the background, at most
	// once per verificationTTL; this is what one costs.
	b.Run("audit/chain-check", func(b *testing.B) {
		for b.Loop() {
			if v, err := st.VerifyAudit(ctx); err != nil || !v.OK {
				b.Fatalf("verify: %+v, %v", v, err)
			}
		}
	})
}

// benchEveryOverviewPage pages through the whole overview as a person would, following
// each page's "Next page" link from the first page to the last, and times every page.
// Each page is measured against its baseline in the same run: the store's listing of
// the same 50 users, read just before the page. It checks that the walk shows every
// user once, in key order.
func benchEveryOverviewPage(b *testing.B, h *Handler, st store.API, session string, n int) {
	ctx := context.Background()
	nextLink := regexp.MustCompile(`<a href="([^"]+)" id="next-page"`)
	rowKey := regexp.MustCompile(`<tr data-user="([^"]+)"`)
	var pageMs, listMs []float64
	var cpu time.Duration
	for b.Loop() {
		pageMs, listMs = pageMs[:0], listMs[:0]
		cpuBefore := processCPU(b)
		path, cursor, seen, last := "/ui/users", "", 0, ""
		for path != "" {
			start := time.Now()
			listing, err := st.ListUsers(ctx, store.UserFilter{Limit: usersPerPage, Cursor: cursor})
			if err != nil {
				b.Fatal(err)
			}
			listMs = append(listMs, float64(time.Since(start).Microseconds())/1000)
			if listing.Next != nil {
				cursor = *listing.Next
			}

			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
			rec := httptest.NewRecorder()
			start = time.Now()
			h.ServeHTTP(rec, req)
			pageMs = append(pageMs, float64(time.Since(start).Microseconds())/1000)
			if rec.Code != http.StatusOK {
				b.Fatalf("GET %s: %d", path, rec.Code)
			}
			body := rec.Body.String()
			rows := rowKey.FindAllStringSubmatch(body, -1)
			if len(rows) != len(listing.Items) {
				b.Fatalf("page %d shows %d users, its listing %d", len(pageMs), len(rows), len(listing.Items))
			}
			for i, r := range rows {
				if r[1] <= last || r[1] != listing.Items[i].Key {
					b.Fatalf("page %d row %d is %q after %q, listing has %q", len(pageMs), i, r[1], last, listing.Items[i].Key)
				}
				last = r[1]
			}
			seen += len(rows)
			path = ""
			if m := nextLink.FindStringSubmatch(body); m != nil {
				path = html.UnescapeString(m[1])
			}
		}
		if seen != n {
			b.Fatalf("the walk showed %d users of %d", seen, n)
		}
		cpu = processCPU(b) - cpuBefore
	}
	pageMedian, listMedian := percentile(pageMs, 50), percentile(listMs, 50)
	b.ReportMetric(float64(len(pageMs)), "pages")
	b.ReportMetric(pageMedian, "median-ms/page")
	b.ReportMetric(percentile(pageMs, 99), "p99-ms/page")
	b.ReportMetric(slices.Max(pageMs), "max-ms/page")
	b.ReportMetric(listMedian, "listing-median-ms")
	b.ReportMetric(pageMedian/listMedian, "page/listing")
	// CPU of the whole process (listing and page) per page, against the wall-clock
	// time of both: near or above 1 means the walk is bound by CPU, not by waiting.
	var wall float64
	for i := range pageMs {
		wall += pageMs[i] + listMs[i]
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/wall, "cpu/wall")
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// percentile is the p-th percentile of xs (nearest rank).
func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}
