package sqlstore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Grant-set writes and deletions of the environment they name, run at the same time
// over and over by two store processes on one database (as two replicas would), never
// deadlock: the store locks users before scopes in both (PostgreSQL counts every
// deadlock it breaks in pg_stat_database, retried or not).
func TestGrantsAndScopeDeletionNeverDeadlock(t *testing.T) {
	dsn := backends["postgres"](t)
	opts := Options{PublicURL: "https://studio.example.test/", InvitationTTL: time.Hour}
	s, other := openTest(t, dsn, opts), openTest(t, dsn, opts)
	deadlocks := func() int64 {
		t.Helper()
		var n int64
		// Statistics reach the view when a backend reports them; the pause and the
		// cleared snapshot make the count current.
		time.Sleep(1200 * time.Millisecond)
		if _, err := s.writer.ExecContext(bg, "SELECT pg_stat_clear_snapshot()"); err != nil {
			t.Fatal(err)
		}
		if err := s.writer.QueryRowContext(bg, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, _, err := s.PutAgency(bg, testCaller, "acme", store.AgencySpec{DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	users := []string{"ana", "ben", "cy", "dee", "eve", "fay"}
	for _, u := range users {
		if _, _, err := s.PutUser(bg, testCaller, u, store.UserSpec{Email: u + "@example.com", Type: cascade.UserTypeUser}); err != nil {
			t.Fatal(err)
		}
	}
	before := deadlocks()
	for round := range 40 {
		env := fmt.Sprintf("team.env-%d", round)
		if _, _, err := s.PutEnvironment(bg, testCaller, env, store.EnvironmentSpec{Agency: "acme", DisplayName: env}); err != nil {
			t.Fatal(err)
		}
		// Half the users hold a grant there already, so deleting it locks them; the
		// others get their first one there (a foreign-key lock on the environment)
		// in the same batches as the first half's changes.
		for _, u := range users[:len(users)/2] {
			if _, err := s.PutGrants(bg, testCaller, u, []store.Grant{{Scope: store.Scope{Environment: env}, Roles: []cascade.Role{cascade.Analyst}}}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for i, u := range users {
			wg.Go(func() {
				roles := []cascade.Role{cascade.Planner}
				if i%2 == 1 {
					roles = append(roles, cascade.Developer)
				}
				// Refused when the environment went first: that is fine here.
				_, _ = s.PutGrants(bg, testCaller, u, []store.Grant{{Scope: store.Scope{Environment: env}, Roles: roles}})
			})
		}
		wg.Go(func() {
			if err := other.DeleteEnvironment(bg, testCaller, env); err != nil {
				t.Errorf("delete %s: %v", env, err)
			}
		})
		wg.Wait()
	}
	if got := deadlocks() - before; got != 0 {
		t.Errorf("PostgreSQL broke %d deadlocks between grant-set writes and environment deletions", got)
	}
	if res, err := s.VerifyAudit(bg); err != nil || !res.OK {
		t.Errorf("audit chain after the races: %+v, %v", res, err)
	}
}
