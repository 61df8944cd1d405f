package sqlstore

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// The pipelined grant batch runs on PostgreSQL only; SQLite takes the generic path.

// grantWrite is a PutGrants as the committer receives it.
func grantWrite(t *testing.T, c store.Caller, key string, grants ...store.Grant) *writeRequest {
	t.Helper()
	req, err := newGrantRequest(key, grants)
	if err != nil {
		t.Fatal(err)
	}
	return &writeRequest{ctx: bg, caller: c, fn: putGrantsTx(req), grants: req, done: make(chan error, 1)}
}

func agencyScope(key string, roles ...cascade.Role) store.Grant {
	return store.Grant{Scope: store.Scope{Agency: key}, Roles: nonNil(roles)}
}

func envScope(key string, roles ...cascade.Role) store.Grant {
	return store.Grant{Scope: store.Scope{Environment: key}, Roles: nonNil(roles)}
}

// openPostgres opens a store on a fresh PostgreSQL database and returns its DSN too.
func openPostgres(t *testing.T) (*Store, string) {
	t.Helper()
	dsn := backends["postgres"](t)
	return openTest(t, dsn, Options{PublicURL: "https://studio.example.test/"}), dsn
}

// pipelineOrg creates agency acme with environments team-a.prod and team-b.prod, and
// users alice and bob (managed by op-1), carol (no manager), dave (removed) and erin
// (managed by op-2). It returns the audit seq reached.
func pipelineOrg(t *testing.T, s *Store) int64 {
	t.Helper()
	person := store.Caller{Actor: "someone"}
	other := store.Caller{Actor: "operator", Manager: "op-2"}
	steps := []error{}
	_, _, err := s.PutAgency(bg, testCaller, "acme", store.AgencySpec{})
	steps = append(steps, err)
	for _, env := range []string{"team-a.prod", "team-b.prod"} {
		_, _, err = s.PutEnvironment(bg, testCaller, env, store.EnvironmentSpec{Agency: "acme"})
		steps = append(steps, err)
	}
	for _, u := range []struct {
		c   store.Caller
		key string
	}{{testCaller, "alice"}, {testCaller, "bob"}, {person, "carol"}, {testCaller, "dave"}, {other, "erin"}} {
		_, _, err = s.PutUser(bg, u.c, u.key, store.UserSpec{Email: u.key + "@example.com", Type: cascade.UserTypeUser, Locale: "en"})
		steps = append(steps, err)
	}
	_, err = s.RemoveUser(bg, testCaller, "dave")
	steps = append(steps, err)
	for i, err := range steps {
		if err != nil {
			t.Fatalf("setting up, step %d: %v", i, err)
		}
	}
	page, err := s.ListAudit(bg, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(page.Entries))
}

// auditAfter lists "action target details" of the entries after seq.
func auditAfter(t *testing.T, s *Store, seq int64) []string {
	t.Helper()
	page, err := s.ListAudit(bg, store.AuditFilter{After: seq, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Entries {
		out = append(out, fmt.Sprint(e.Action, " ", e.Target, " ", e.Details))
	}
	if v, err := s.VerifyAudit(bg); err != nil || !v.OK {
		t.Fatalf("VerifyAudit = %+v, %v", v, err)
	}
	return out
}

func TestGrantBatchRunsEveryWriteInOrder(t *testing.T) {
	s, _ := openPostgres(t)
	seq := pipelineOrg(t, s)
	batch := []*writeRequest{
		grantWrite(t, testCaller, "alice", agencyScope("acme", cascade.Analyst)),
		// Sees the write before it: only the Agent grant is new.
		grantWrite(t, testCaller, "alice", agencyScope("acme", cascade.Analyst), envScope("team-a.prod", cascade.Agent)),
		grantWrite(t, testCaller, "bob", envScope("nope.prod", cascade.Agent)),
		grantWrite(t, testCaller, "nobody", agencyScope("acme", cascade.Analyst)),
		grantWrite(t, testCaller, "dave", agencyScope("acme", cascade.Analyst)),
		grantWrite(t, testCaller, "erin", agencyScope("acme", cascade.Analyst)),
		// Changes no grant but adopts carol.
		grantWrite(t, testCaller, "carol"),
		grantWrite(t, testCaller, "bob", envScope("team-b.prod")),
		// The same set again: a no-op.
		grantWrite(t, testCaller, "alice", envScope("team-a.prod", cascade.Agent), agencyScope("acme", cascade.Analyst)),
	}
	fallbacks := s.committer.fallbacks.Load()
	s.commitBatch(batch)
	var codes []store.Code
	var changed []bool
	for _, r := range batch {
		err := <-r.done
		codes = append(codes, store.CodeOf(err))
		changed = append(changed, err == nil && r.grants.out.Changed)
	}
	wantCodes := []store.Code{"", "", store.CodeUnknownReference, store.CodeNotFound, store.CodeUserRemoved, store.CodeManagedByOther, "", "", ""}
	if diff := cmp.Diff(wantCodes, codes); diff != "" {
		t.Fatalf("codes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, false, false, false, false, true, true, false}, changed); diff != "" {
		t.Fatalf("changed (-want +got):\n%s", diff)
	}
	if s.committer.fallbacks.Load() != fallbacks {
		t.Fatal("refusals made the batch fall back to one by one; they must drop out alone")
	}
	for key, want := range map[string][]store.Grant{
		"alice": {agencyScope("acme", cascade.Analyst), envScope("team-a.prod", cascade.Agent)},
		"bob":   {envScope("team-b.prod")},
		"carol": {},
	} {
		got, err := s.GetGrants(bg, key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, nonNil(got.Grants)); diff != "" {
			t.Errorf("%s grants (-want +got):\n%s", key, diff)
		}
	}
	if carol, err := s.GetUser(bg, "carol"); err != nil || carol.ManagedBy != "op-1" {
		t.Fatalf("carol = %+v, %v; want adopted by op-1", carol, err)
	}
	want := []string{
		"grant.added user/alice map[role:Analyst scope:map[agency:acme]]",
		"grant.added user/alice map[role:Agent scope:map[environment:team-a.prod]]",
		"user.adopted user/carol map[manager:op-1]",
		"grant.added user/bob map[block:true scope:map[environment:team-b.prod]]",
	}
	if diff := cmp.Diff(want, auditAfter(t, s, seq)); diff != "" {
		t.Fatalf("audit (-want +got):\n%s", diff)
	}
}

func TestGrantBatchOfNoOpsWritesNothing(t *testing.T) {
	s, _ := openPostgres(t)
	pipelineOrg(t, s)
	if _, err := s.PutGrants(bg, testCaller, "alice", []store.Grant{agencyScope("acme", cascade.Analyst)}); err != nil {
		t.Fatal(err)
	}
	seq := int64(len(auditAfter(t, s, 0)))
	batch := []*writeRequest{
		grantWrite(t, testCaller, "alice", agencyScope("acme", cascade.Analyst)),
		grantWrite(t, testCaller, "bob"),
		grantWrite(t, testCaller, "nobody"),
	}
	s.commitBatch(batch)
	for i, r := range batch {
		if err := <-r.done; err != nil && i < 2 {
			t.Fatalf("write %d: %v", i, err)
		}
		if r.grants.out.Changed {
			t.Fatalf("write %d reports a change", i)
		}
	}
	if got := auditAfter(t, s, seq); len(got) != 0 {
		t.Fatalf("a batch of no-ops wrote audit entries: %v", got)
	}
}

func TestGrantBatchFallsBackWhenAScopeVanishes(t *testing.T) {
	s, dsn := openPostgres(t)
	seq := pipelineOrg(t, s)
	// Another store process deletes team-b.prod after the batch looked it up and
	// before it writes: the insert breaks the foreign key, the transaction is given
	// up, and the writes run again one by one.
	other := openTest(t, dsn, Options{})
	s.afterGrantRead = func() {
		if err := other.DeleteEnvironment(bg, testCaller, "team-b.prod"); err != nil {
			t.Errorf("deleting team-b.prod: %v", err)
		}
	}
	batch := []*writeRequest{
		grantWrite(t, testCaller, "alice", agencyScope("acme", cascade.Analyst)),
		grantWrite(t, testCaller, "bob", envScope("team-b.prod", cascade.Agent)),
	}
	fallbacks := s.committer.fallbacks.Load()
	s.commitBatch(batch)
	s.afterGrantRead = nil
	if err := <-batch[0].done; err != nil {
		t.Fatalf("alice: %v", err)
	}
	if err := <-batch[1].done; !store.IsCode(err, store.CodeUnknownReference) {
		t.Fatalf("bob: %v; want unknown-reference", err)
	}
	if s.committer.fallbacks.Load() != fallbacks+1 {
		t.Fatal("the failed transaction did not fall back to one by one")
	}
	want := []string{
		"environment.deleted environment/team-b.prod map[]",
		"grant.added user/alice map[role:Analyst scope:map[agency:acme]]",
	}
	if diff := cmp.Diff(want, auditAfter(t, s, seq)); diff != "" {
		t.Fatalf("audit (-want +got):\n%s", diff)
	}
}

func TestMixedBatchKeepsArrivalOrder(t *testing.T) {
	s, _ := openPostgres(t)
	seq := pipelineOrg(t, s)
	batch := []*writeRequest{
		request(putAgencyWrite("first")),
		grantWrite(t, testCaller, "alice", agencyScope("first", cascade.Analyst)),
		request(putAgencyWrite("last")),
		grantWrite(t, testCaller, "bob", agencyScope("last", cascade.Analyst)),
	}
	s.commitBatch(batch)
	for i, r := range batch {
		if err := <-r.done; err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	want := []string{
		"agency.upserted agency/first map[]",
		"grant.added user/alice map[role:Analyst scope:map[agency:first]]",
		"agency.upserted agency/last map[]",
		"grant.added user/bob map[role:Analyst scope:map[agency:last]]",
	}
	if diff := cmp.Diff(want, auditAfter(t, s, seq)); diff != "" {
		t.Fatalf("audit (-want +got):\n%s", diff)
	}
}

// TestStoresOnOneDatabaseLoseNoGrantWrite runs two store processes (two *Store, each
// with its own pool and committer) against one database, writing the same user at
// once: the row lock, not the process, must order them.
func TestStoresOnOneDatabaseLoseNoGrantWrite(t *testing.T) {
	first, dsn := openPostgres(t)
	second := openTest(t, dsn, Options{})
	pipelineOrg(t, first)
	roles := cascade.AssignableRoles
	const writers, writes = 8, 6
	sets := make([][]store.Grant, writers*writes)
	for i := range sets {
		// Every write asks for a different set, so every write changes something.
		sets[i] = []store.Grant{agencyScope("acme", roles[i%len(roles)])}
		if i%2 == 0 {
			sets[i] = append(sets[i], envScope("team-a.prod", cascade.Agent))
		}
		if i%3 == 0 {
			sets[i] = append(sets[i], envScope("team-b.prod"))
		}
		if (i/len(roles))%2 == 1 {
			sets[i][0].Roles = append(sets[i][0].Roles, roles[(i+3)%len(roles)])
			slices.Sort(sets[i][0].Roles)
			sets[i][0].Roles = slices.Compact(sets[i][0].Roles)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*writes*2)
	for w := range writers {
		s := []*Store{first, second}[w%2]
		wg.Go(func() {
			for j := range writes {
				i := w*writes + j
				// Source names the write, so the audit says which one committed last.
				c := store.Caller{Actor: "operator", Manager: "op-1", Source: fmt.Sprintf("StudioUser//alice@%d", i)}
				if _, err := s.PutGrants(bg, c, "alice", sets[i]); err != nil {
					errs <- fmt.Errorf("write %d: %w", i, err)
				}
				// Another user's write in the same batches.
				if _, err := s.PutGrants(bg, testCaller, "bob", []store.Grant{agencyScope("acme", roles[i%len(roles)])}); err != nil {
					errs <- fmt.Errorf("bob, write %d: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	page, err := first.ListAudit(bg, store.AuditFilter{User: "alice", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Replaying the audited changes must give the final grants, each change applying
	// to the state the one before left: a lost update shows as a change of something
	// already in that state.
	replayed := map[string]bool{}
	last := ""
	for _, e := range page.Entries {
		if e.Action != store.ActionGrantAdded && e.Action != store.ActionGrantRemoved {
			continue
		}
		k := fmt.Sprint(e.Details["scope"], e.Details["role"], e.Details["block"])
		if replayed[k] == (e.Action == store.ActionGrantAdded) {
			t.Fatalf("entry %d: %s of %s, which the replay already has in that state", e.Seq, e.Action, k)
		}
		replayed[k] = e.Action == store.ActionGrantAdded
		last = e.Source
	}
	var lastWrite int
	if _, err := fmt.Sscanf(strings.TrimPrefix(last, "StudioUser//alice@"), "%d", &lastWrite); err != nil {
		t.Fatalf("last source %q: %v", last, err)
	}
	got, err := second.GetGrants(bg, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want, err := newGrantRequest("alice", sets[lastWrite])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.want, got.Grants); diff != "" {
		t.Fatalf("final grants are not those of the last audited write %d (-want +got):\n%s", lastWrite, diff)
	}
	replayedNow := map[string]bool{}
	for _, g := range got.Grants {
		for _, ch := range revokeChanges(g) {
			d := ch.auditDetails()
			replayedNow[fmt.Sprint(d["scope"], d["role"], d["block"])] = true
		}
	}
	for k, present := range replayed {
		if present != replayedNow[k] {
			t.Fatalf("audit replay says %s present=%v; final grants disagree", k, present)
		}
	}
	all, err := first.ListAudit(bg, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range all.Entries {
		if e.Seq != int64(i+1) {
			t.Fatalf("audit seq %d at position %d: not gap-free", e.Seq, i)
		}
	}
	if v, err := second.VerifyAudit(bg); err != nil || !v.OK {
		t.Fatalf("VerifyAudit = %+v, %v", v, err)
	}
}

func TestServerChainsAuditLikeTheStore(t *testing.T) {
	s, _ := openPostgres(t)
	seq := pipelineOrg(t, s)
	// Fields that encoding/json escapes: the tails sent to audit_append are marshalled,
	// and the server's hashes must be those VerifyAudit recomputes.
	callers := []store.Caller{
		{Actor: `op"1\`, Manager: "op-1", OnBehalfOf: "argocd:<app>&x", Source: "StudioUser//zoë@1"},
		{Actor: "op\u2028", Manager: "op-1", OnBehalfOf: "tab\there", Source: "😀"},
	}
	fallbacks := s.committer.fallbacks.Load()
	for i, c := range callers {
		if _, err := s.PutGrants(bg, c, "alice", []store.Grant{envScope("team-a.prod", []cascade.Role{cascade.Agent, cascade.Operator}[i])}); err != nil {
			t.Fatal(err)
		}
	}
	if s.committer.fallbacks.Load() != fallbacks {
		t.Fatal("the pipelined writes fell back to the generic path")
	}
	if v, err := s.VerifyAudit(bg); err != nil || !v.OK {
		t.Fatalf("VerifyAudit = %+v, %v", v, err)
	}
	page, err := s.ListAudit(bg, store.AuditFilter{After: seq})
	if err != nil {
		t.Fatal(err)
	}
	var got []store.Caller
	for _, e := range page.Entries {
		got = append(got, store.Caller{Actor: e.Actor, Manager: "op-1", OnBehalfOf: e.OnBehalfOf, Source: e.Source})
	}
	// One entry for the first write (Agent added), two for the second.
	if diff := cmp.Diff([]store.Caller{callers[0], callers[1], callers[1]}, got); diff != "" {
		t.Fatalf("audited callers (-want +got):\n%s", diff)
	}
}

func TestGrantStatementsFailUnlessTheyChangeOneRow(t *testing.T) {
	s, _ := openPostgres(t)
	pipelineOrg(t, s)
	for name, tc := range map[string]struct {
		sql  string
		args []any
	}{
		"delete": {pipeDeleteGrant, []any{"alice", "agency/acme"}},
		"update": {pipeUpdateGrant, []any{"alice", "agency/acme", "Analyst"}},
		"owner":  {pipeSetOwner, []any{"op-1", false, "nobody"}},
	} {
		t.Run(name, func(t *testing.T) {
			tx, err := s.writer.BeginTx(bg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			var one int
			if err := tx.QueryRowContext(bg, tc.sql, tc.args...).Scan(&one); err == nil {
				t.Fatalf("%s of a missing row succeeded; it must abort the transaction", name)
			}
		})
	}
}
