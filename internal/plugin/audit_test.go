package plugin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
	"github.com/studio-operator/studio-operator/internal/storeserver/teststore"
	"github.com/studio-operator/studio-operator/internal/testclock"
)

// Tokens of the in-process store: the plugin only reads, so it gets a reader token.
const (
	storeReaderToken = "plugin-test-reader-token-0123456789"
	storeAdminToken  = "plugin-test-admin-token-0123456789"
)

// testStore is a real Studio user store (SQLite file, HTTP API on 127.0.0.1) whose
// clock the test moves.
type testStore struct {
	*testclock.Clock
	url       string
	tokenFile string
	svc       *sqlstore.Store
}

func startStore(t *testing.T, start time.Time) *testStore {
	t.Helper()
	ts := &testStore{Clock: testclock.New(start)}
	dir := t.TempDir()
	st, err := teststore.StartWith(dir, teststore.Options{
		Clock: ts.Now,
		Tokens: []teststore.Token{
			{Role: auth.RoleReader, Subject: "auditor", Token: storeReaderToken},
			{Role: auth.RoleAdmin, Subject: "operator", Token: storeAdminToken},
		},
	})
	if err != nil {
		t.Fatalf("starting the store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ts.url, ts.svc = st.URL, st.Service()
	ts.tokenFile = filepath.Join(dir, "token")
	if err := os.WriteFile(ts.tokenFile, []byte(storeReaderToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return ts
}

// newStoreClient is what cmd/kubectl-studio wires in.
func newStoreClient(url, token string) (store.API, error) {
	return storeclient.New(url, storeclient.Options{Token: token})
}

// seedStore writes an hour apart: the agency and an environment, then ana with an
// agency grant, then bea with a grant on the environment.
func seedStore(t *testing.T, s *testStore) {
	t.Helper()
	ctx := context.Background()
	op := store.Caller{Actor: "operator", Manager: "default", OnBehalfOf: "argocd:studio-users"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := s.svc.PutAgency(ctx, op, "acme", store.AgencySpec{DisplayName: "ACME"})
	must(err)
	_, _, err = s.svc.PutEnvironment(ctx, op, "team-support.webchat", store.EnvironmentSpec{Agency: "acme"})
	must(err)
	s.Advance(time.Hour)
	_, _, err = s.svc.PutUser(ctx, op, "ana", store.UserSpec{Email: "ana@example.com", Type: cascade.UserTypeUser})
	must(err)
	_, err = s.svc.PutGrants(ctx, op, "ana", []store.Grant{{Scope: store.Scope{Agency: "acme"}, Roles: []cascade.Role{cascade.Analyst}}})
	must(err)
	s.Advance(time.Hour)
	_, _, err = s.svc.PutUser(ctx, op, "bea", store.UserSpec{Email: "bea@example.com", Type: cascade.UserTypeAgent})
	must(err)
	_, err = s.svc.PutGrants(ctx, op, "bea", []store.Grant{{Scope: store.Scope{Environment: "team-support.webchat"}, Roles: []cascade.Role{cascade.Agent}}})
	must(err)
}

// auditRows reduces audit -o json output to "action target" lines.
func auditRows(t *testing.T, out string) []string {
	t.Helper()
	var list AuditList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("audit -o json: %v\n%s", err, out)
	}
	rows := []string{}
	for _, e := range list.Entries {
		rows = append(rows, e.Action+" "+e.Target)
	}
	return rows
}

func TestAuditCommand(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := startStore(t, start)
	seedStore(t, s)
	now := s.Now().Add(30 * time.Minute) // the plugin's clock: half an hour after the last change
	flags := []string{"--store-url", s.url, "--store-token-file", s.tokenFile}
	run := func(t *testing.T, args ...string) result {
		t.Helper()
		return runPlugin(t, Options{NewStore: newStoreClient}, now, append(args, flags...)...)
	}
	anaRows := []string{"user.created user/ana", "grant.added user/ana"}
	beaRows := []string{"user.created user/bea", "grant.added user/bea"}

	t.Run("everything, oldest first", func(t *testing.T) {
		r := run(t, "audit", "--limit", "0", "-o", "json")
		r.want(t, r.out, "", 0)
		got := auditRows(t, r.out)
		if len(got) < 6 || !cmp.Equal(got[len(got)-4:], append(anaRows, beaRows...)) || !strings.HasPrefix(got[0], "agency.upserted agency/acme") {
			t.Errorf("entries %v: want the agency first and ana's then bea's changes last", got)
		}
	})
	t.Run("one user", func(t *testing.T) {
		r := run(t, "audit", "ana", "-o", "json")
		r.want(t, r.out, "", 0)
		if diff := cmp.Diff(anaRows, auditRows(t, r.out)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("since a duration", func(t *testing.T) {
		r := run(t, "audit", "--since", "45m", "-o", "yaml")
		r.want(t, r.out, "", 0)
		if !strings.Contains(r.out, "target: user/bea") || strings.Contains(r.out, "target: user/ana") {
			t.Errorf("--since 45m should keep bea's changes (30m ago) and drop ana's (90m ago):\n%s", r.out)
		}
	})
	t.Run("since a time, limited", func(t *testing.T) {
		r := run(t, "audit", "--since", start.Add(30*time.Minute).Format(time.RFC3339), "--limit", "3", "-o", "json")
		r.want(t, r.out, "", 0)
		if diff := cmp.Diff([]string{"grant.added user/ana", "user.created user/bea", "grant.added user/bea"}, auditRows(t, r.out)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("table", func(t *testing.T) {
		r := run(t, "audit", "bea")
		r.want(t, r.out, "", 0)
		lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("want a header and two rows:\n%s", r.out)
		}
		if got := strings.Fields(lines[0]); !cmp.Equal(got, []string{"SEQ", "TIME", "ACTOR", "ON", "BEHALF", "OF", "ACTION", "TARGET"}) {
			t.Errorf("header %q", lines[0])
		}
		row := strings.Fields(lines[1])
		if want := []string{start.Add(2 * time.Hour).Format(time.RFC3339), "operator", "argocd:studio-users", "user.created", "user/bea"}; !cmp.Equal(row[1:], want) {
			t.Errorf("row %q, want %v after the seq", lines[1], want)
		}
	})
	t.Run("nothing", func(t *testing.T) {
		run(t, "audit", "nobody").want(t, "", "No audit entries found\n", 0)
	})
	t.Run("settings from the environment", func(t *testing.T) {
		env := map[string]string{EnvStoreURL: s.url, EnvStoreToken: storeReaderToken}
		r := runPlugin(t, Options{NewStore: newStoreClient, Getenv: func(k string) string { return env[k] }}, now, "audit", "ana", "-o", "json")
		r.want(t, r.out, "", 0)
		if diff := cmp.Diff(anaRows, auditRows(t, r.out)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("no settings", func(t *testing.T) {
		runPlugin(t, Options{NewStore: newStoreClient}, now, "audit").want(t, "",
			"error: the Studio user store is not configured: set --store-url and --store-token-file, or STUDIO_STORE_URL and STUDIO_STORE_TOKEN\n", 1)
	})
	t.Run("wrong token", func(t *testing.T) {
		env := map[string]string{EnvStoreURL: s.url, EnvStoreToken: "not-a-token"}
		r := runPlugin(t, Options{NewStore: newStoreClient, Getenv: func(k string) string { return env[k] }}, now, "audit")
		r.want(t, "", r.errOut, 1)
		if !strings.HasPrefix(r.errOut, "Error from the Studio user store (unauthorized): ") || strings.Count(r.errOut, "\n") != 1 || strings.Contains(r.errOut, "not-a-token") {
			t.Errorf("stderr %q: want one unauthorized line without the token", r.errOut)
		}
	})
	t.Run("bad since", func(t *testing.T) {
		run(t, "audit", "--since", "yesterday").want(t, "", "error: invalid --since \"yesterday\": want a duration such as 1h or 30m, or an RFC3339 time such as 2026-01-02T15:04:05Z\n", 1)
	})
}

// TestAccessFromStore asks the store what the Studio enforces.
func TestAccessFromStore(t *testing.T) {
	s := startStore(t, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	seedStore(t, s)
	run := func(args ...string) result {
		return runPlugin(t, Options{NewStore: newStoreClient}, s.Now(), append(args, "--from", "store", "--store-url", s.url, "--store-token-file", s.tokenFile)...)
	}
	run("access", "bea").want(t, ""+
		"ENVIRONMENT            AGENCY   ROLES   SOURCE        CAPABILITIES         BINDINGS\n"+
		"team-support/webchat   acme     Agent   Environment   inbox.reply,notify   -\n",
		"", 0)
	r := run("access", "nobody")
	r.want(t, "", r.errOut, 1)
	if !strings.HasPrefix(r.errOut, "Error from the Studio user store (not-found): ") {
		t.Errorf("stderr %q, want a not-found line", r.errOut)
	}
}
