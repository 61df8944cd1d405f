package sqlstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/pgtest"
)

// The benchmark organisation: one agency, 20 environments, 1000 users, each with one
// of two grant sets of 2 to 4 grants. Writers alternate every user between its two
// sets, so every write really changes data (and audits 3 to 6 role changes).
const (
	benchEnvironments = 20
	benchUsers        = 1000
	// benchParallelism multiplies GOMAXPROCS into the number of concurrent clients,
	// as a server has more requests in flight than cores.
	benchParallelism = 4
)

var benchCaller = store.Caller{Actor: "operator", Manager: "op-1", OnBehalfOf: "argocd:studio", Source: "StudioUser//bench@1"}

type benchUser struct {
	key  string
	sets [2][]store.Grant
}

func benchEnv(i int) string { return fmt.Sprintf("team-%02d.prod", i%benchEnvironments) }

func benchGrantSets(j int) [2][]store.Grant {
	scope := func(env string) store.Scope { return store.Scope{Environment: env} }
	acme := store.Scope{Agency: "acme"}
	a := []store.Grant{
		{Scope: acme, Roles: []cascade.Role{cascade.Analyst}},
		{Scope: scope(benchEnv(j)), Roles: []cascade.Role{cascade.Agent}},
		{Scope: scope(benchEnv(j + 1)), Roles: []cascade.Role{}},
	}
	if j%3 == 0 {
		a = append(a, store.Grant{Scope: scope(benchEnv(j + 2)), Roles: []cascade.Role{cascade.Operator}})
	}
	b := []store.Grant{
		{Scope: acme, Roles: []cascade.Role{cascade.Analyst, cascade.Developer}},
		{Scope: scope(benchEnv(j)), Roles: []cascade.Role{cascade.Agent, cascade.Operator}},
	}
	if j%2 == 0 {
		b = append(b, store.Grant{Scope: scope(benchEnv(j + 5)), Roles: []cascade.Role{cascade.ContentManager}})
	}
	return [2][]store.Grant{a, b}
}

// benchFixture is a loaded store, shared by the runs of one sub-benchmark.
type benchFixture struct {
	s     *Store
	users []benchUser
}

// lazyFixture returns the fixture of backend with n users, loading it on the
// sub-benchmark's first run (so a filtered-out backend costs nothing). owner is the
// outer benchmark: it outlives the runs and owns the cleanup.
func lazyFixture(owner, b *testing.B, fx **benchFixture, backend string, n int) *benchFixture {
	if *fx == nil {
		b.StopTimer()
		s, users := benchStore(owner, b, backend, n)
		*fx = &benchFixture{s: s, users: users}
		b.StartTimer()
	}
	return *fx
}

// benchStore opens a store on backend and loads the organisation with n users; users
// start on their second set. Resources belong to owner; failures are reported on b,
// the running sub-benchmark.
func benchStore(owner, b *testing.B, backend string, n int) (*Store, []benchUser) {
	b.Helper()
	dir, err := os.MkdirTemp("", "sqlstore-bench-")
	if err != nil {
		b.Fatal(err)
	}
	owner.Cleanup(func() { _ = os.RemoveAll(dir) })
	dsn := "sqlite://" + filepath.Join(dir, "bench.db")
	if backend == "postgres" {
		var drop func() error
		if dsn, drop, err = pgtest.CreateDatabaseFrom(bg, "sqlstore", migrated); err != nil {
			b.Fatal(err)
		}
		owner.Cleanup(func() { _ = drop() })
	}
	s, err := Open(bg, dsn, Options{PublicURL: "https://studio.example.test"})
	if err != nil {
		b.Fatal(err)
	}
	owner.Cleanup(func() { _ = s.Close() })
	if _, _, err := s.PutAgency(bg, benchCaller, "acme", store.AgencySpec{DisplayName: "Acme"}); err != nil {
		b.Fatal(err)
	}
	for i := range benchEnvironments {
		if _, _, err := s.PutEnvironment(bg, benchCaller, benchEnv(i), store.EnvironmentSpec{Agency: "acme"}); err != nil {
			b.Fatal(err)
		}
	}
	users := make([]benchUser, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for j := range work {
				u := benchUser{key: fmt.Sprintf("user-%04d", j), sets: benchGrantSets(j)}
				users[j] = u
				if _, _, err := s.PutUser(bg, benchCaller, u.key, store.UserSpec{Email: u.key + "@example.com", DisplayName: u.key}); err != nil {
					errs <- err
					continue
				}
				if _, err := s.PutGrants(bg, benchCaller, u.key, u.sets[1]); err != nil {
					errs <- err
				}
			}
		})
	}
	for j := range n {
		work <- j
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return s, users
}

func BenchmarkPutGrants(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		var fx *benchFixture
		var next atomic.Int64
		b.Run(backend, func(sb *testing.B) {
			s, users := lazyFixture(b, sb, &fx, backend, benchUsers).s, fx.users
			b := sb
			var unchanged atomic.Int64
			b.SetParallelism(benchParallelism)
			b.ReportAllocs()
			batches0, batched0, fallbacks0 := s.committer.batches.Load(), s.committer.batched.Load(), s.committer.fallbacks.Load()
			cpu := startCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1) - 1)
					u := users[i%len(users)]
					// Round r writes set r%2; users start on set 1, so every write changes.
					set, err := s.PutGrants(bg, benchCaller, u.key, u.sets[(i/len(users))%2])
					if err != nil {
						b.Error(err)
						return
					}
					if !set.Changed {
						unchanged.Add(1)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
			reportCPU(b, cpu, backend)
			if n := s.committer.batches.Load() - batches0; n > 0 {
				b.ReportMetric(float64(s.committer.batched.Load()-batched0)/float64(n), "writes/batch")
			}
			if n := s.committer.fallbacks.Load() - fallbacks0; n > 0 {
				b.Errorf("%d batches failed and were run one by one", n)
			}
			if n := unchanged.Load(); n > 0 {
				b.Fatalf("%d writes changed nothing; the benchmark must measure real writes", n)
			}
			if v, err := s.VerifyAudit(bg); err != nil || !v.OK {
				b.Fatalf("audit after the benchmark: %+v, %v", v, err)
			}
		})
	}
}

func BenchmarkGetAccess(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		var fx *benchFixture
		b.Run(backend, func(sb *testing.B) {
			s, users := lazyFixture(b, sb, &fx, backend, benchUsers).s, fx.users
			b := sb
			var next atomic.Int64
			b.SetParallelism(benchParallelism)
			b.ReportAllocs()
			cpu := startCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					u := users[int(next.Add(1))%len(users)]
					a, err := s.GetAccess(bg, u.key)
					if err != nil {
						b.Error(err)
						return
					}
					if len(a.Environments) != benchEnvironments-1 && len(a.Environments) != benchEnvironments {
						b.Errorf("%s has access to %d environments", u.key, len(a.Environments))
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
			reportCPU(b, cpu, backend)
		})
	}
}

// benchListUsers is how many users BenchmarkListGrants lists: ten pages of the
// largest size.
const benchListUsers = 10 * maxPageSize

// BenchmarkListGrants measures one page of the largest size of ListGrants (1000 users
// with 2 or 3 grants each) out of 10,000: what a resync costs per thousand users.
func BenchmarkListGrants(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		var fx *benchFixture
		b.Run(backend, func(sb *testing.B) {
			s := lazyFixture(b, sb, &fx, backend, benchListUsers).s
			b := sb
			cursors := benchGrantCursors(b, s)
			b.ReportAllocs()
			cpu := startCPU()
			b.ResetTimer()
			for i := range b.N {
				page, err := s.ListGrants(bg, store.GrantFilter{Limit: maxPageSize, Cursor: cursors[i%len(cursors)]})
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) != maxPageSize {
					b.Fatalf("page of %d users, want %d", len(page.Items), maxPageSize)
				}
			}
			b.ReportMetric(float64(b.N*maxPageSize)/b.Elapsed().Seconds(), "users/s")
			reportCPU(b, cpu, backend)
		})
	}
}

// benchGrantCursors reads every page of ListGrants once, checks what it lists and
// returns the cursors of the pages ("" for the first).
func benchGrantCursors(b *testing.B, s *Store) []string {
	b.Helper()
	cursors := []string{""}
	users := 0
	for {
		page, err := s.ListGrants(bg, store.GrantFilter{Limit: maxPageSize, Cursor: cursors[len(cursors)-1]})
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range page.Items {
			if n := len(u.Grants); n < 2 || n > 3 {
				b.Fatalf("%s has %d grants, want 2 or 3", u.User, n)
			}
		}
		users += len(page.Items)
		if page.Next == nil {
			break
		}
		cursors = append(cursors, *page.Next)
	}
	if users != benchListUsers {
		b.Fatalf("listed %d users, want %d", users, benchListUsers)
	}
	return cursors
}

// reportCPU reports the CPU time per operation and, on PostgreSQL, the server's part
// of it.
func reportCPU(b *testing.B, cpu cpuMeter, backend string) {
	total, server := cpu.elapsed()
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "cpu-µs/op")
	if backend == "postgres" {
		b.ReportMetric(float64(server.Microseconds())/float64(b.N), "pg-cpu-µs/op")
	}
}
