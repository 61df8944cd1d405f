package install

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"

	"github.com/studio-operator/studio-operator/internal/argocdhealth"
)

// The names the chart gives its objects for release "studio-operator".
const (
	managerName       = "studio-operator"
	storeName         = "studio-operator-store"
	managerRoleName   = "studio-operator-manager"
	leaderElection    = "studio-operator-leader-election"
	generatedToken    = "studio-operator-store-token"
	generatedTokens   = "studio-operator-store-tokens"
	generatedPVC      = "studio-operator-store-data"
	nonrootUID        = 65532
	tokenMountPath    = "/etc/studio/store-token/"
	tokensMountPath   = "/etc/studio/tokens/"
	linkKeyMountPath  = "/etc/studio/link-key/"
	sqliteDBOnVolume  = "sqlite:///var/lib/studio/studio.db"
	defaultStoreURL   = "http://studio-operator-store:8080"
	aggregatedViewer  = "studio-operator-viewer"
	aggregatedEditor  = "studio-operator-editor"
	aggregatedAccess  = "studio-operator-access-admin"
	serviceMonitorAPI = "monitoring.coreos.com/v1"
)

// TestChartLint is `helm lint` for every profile: no warnings or errors (information,
// such as a missing icon, is fine).
func TestChartLint(t *testing.T) {
	for _, p := range profiles(t) {
		t.Run(p.name, func(t *testing.T) {
			linter := lint.AllWithKubeVersion(chartDir, p.values(t), namespace, &kubeVersion)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}

// TestChartTemplate is `helm template` for every profile, with what must hold whatever
// the values: hardened workloads, real flags, services that reach their pods, the
// RBAC of config/rbac, tokens that match, and leader election with more than one
// manager.
func TestChartTemplate(t *testing.T) {
	managerFlagNames := managerFlags(t)
	storeFlagNames := definedFlags(t, storeFlagsFile)
	for _, p := range profiles(t) {
		t.Run(p.name, func(t *testing.T) {
			vals := chartValues(t, p)
			r := mustRender(t, p)
			checkMetadata(t, r)
			checkWorkloads(t, r)
			checkServices(t, r)
			checkManager(t, r, vals, managerFlagNames)
			checkStore(t, r, vals, storeFlagNames)
			checkRBAC(t, r, vals)
			checkTokens(t, r, vals)
			checkServiceMonitors(t, r, vals)
			checkPrometheusRule(t, r, vals)
		})
	}
}

// values is the subset of the chart's values the checks derive expectations from.
type values struct {
	Manager struct {
		Replicas       int
		StoreURL       string `json:"storeURL"`
		LeaderElection struct {
			LeaseDuration string `json:"leaseDuration"`
			RenewDeadline string `json:"renewDeadline"`
			RetryPeriod   string `json:"retryPeriod"`
		} `json:"leaderElection"`
	}
	RBAC struct {
		AggregateToDefaultRoles bool `json:"aggregateToDefaultRoles"`
	} `json:"rbac"`
	Store struct {
		Enabled  bool
		Database string
		Replicas int
		SQLite   struct {
			Persistence struct {
				ExistingClaim string `json:"existingClaim"`
			}
		} `json:"sqlite"`
		Postgres struct{ ExistingSecret, Key string } `json:"postgres"`
		LinkKey  struct{ ExistingSecret, Key string } `json:"linkKey"`
	}
	Tokens struct {
		Manager struct{ ExistingSecret, Key string }
		Store   struct{ ExistingSecret, Key string }
	}
	ServiceMonitor struct{ Enabled bool } `json:"serviceMonitor"`
	PrometheusRule struct {
		Enabled bool
		Labels  map[string]string
	} `json:"prometheusRule"`
}

// chartValues reads the chart's defaults with the profile on top.
func chartValues(t *testing.T, p profile) values {
	t.Helper()
	vals := map[string]any{}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "values.yaml")), &vals); err != nil {
		t.Fatal(err)
	}
	mergeValues(vals, p.values(t))
	raw, err := yaml.Marshal(vals)
	if err != nil {
		t.Fatal(err)
	}
	var v values
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// The values the chart must refuse, each with a message that names the value (the
// schema names it as a JSON pointer, the templates by its dotted path).
func TestChartRefusesBadValues(t *testing.T) {
	cases := map[string]struct {
		set  map[string]any
		want string
	}{
		"SQLite with two replicas":       {map[string]any{"store.replicas": 2}, "store.replicas must be 1"},
		"PostgreSQL without its Secret":  {map[string]any{"store.database": "postgres"}, "store.postgres.existingSecret"},
		"PostgreSQL without a link key":  {map[string]any{"store.database": "postgres", "store.postgres.existingSecret": "db"}, "store.linkKey.existingSecret"},
		"unknown database":               {map[string]any{"store.database": "mysql"}, "/store/database"},
		"manager token without its hash": {map[string]any{"tokens.manager.existingSecret": "t"}, "tokens.store.existingSecret"},
		"no store and no URL":            {map[string]any{"store.enabled": false, "tokens.manager.existingSecret": "t"}, "manager.storeURL"},
		"no store and a generated token": {map[string]any{"store.enabled": false, "manager.storeURL": "http://s"}, "tokens.manager.existingSecret"},
		"a misspelt value":               {map[string]any{"manager.replica": 2}, "replica"},
		"zero managers":                  {map[string]any{"manager.replicas": 0}, "/manager/replicas"},
		"extra lines that are no tokens": {map[string]any{"tokens.extra": []any{"admin me"}}, "/tokens/extra/0"},
		"a flag without dashes":          {map[string]any{"manager.extraArgs": []any{"leader-elect"}}, "/manager/extraArgs/0"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := render(t, profile{set: tc.set}.values(t))
			if err == nil {
				t.Fatal("rendered; want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

// The chart's copies are byte-identical to their sources in config/ (`make chart-files`
// writes them; `make verify` fails when they drift).
func TestChartFilesMatchConfig(t *testing.T) {
	const hint = " (run make chart-files)"
	sources, err := filepath.Glob(filepath.Join(repoRoot, "config/crd/bases/*.yaml"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	copies, err := filepath.Glob(filepath.Join(chartDir, "crds/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != len(sources) {
		t.Errorf("chart crds/ has %d files, config/crd/bases %d"+hint, len(copies), len(sources))
	}
	pairs := map[string]string{}
	for _, s := range sources {
		pairs[s] = filepath.Join(chartDir, "crds", filepath.Base(s))
	}
	for _, f := range []string{"role.yaml", "leader_election_role.yaml", "studio_viewer_role.yaml", "studio_editor_role.yaml"} {
		pairs[filepath.Join(repoRoot, "config/rbac", f)] = filepath.Join(chartDir, "files/rbac", f)
	}
	pairs[filepath.Join(repoRoot, "config/argocd/argocd-cm-patch.yaml")] = filepath.Join(chartDir, "files/argocd-cm-patch.yaml")
	pairs[filepath.Join(repoRoot, "config/prometheus/studio-operator-rules.yaml")] = filepath.Join(chartDir, "files/studio-operator-rules.yaml")
	for src, dst := range pairs {
		want := readFile(t, src)
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Errorf("%v"+hint, err)
			continue
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%s differs from %s"+hint, dst, src)
		}
	}
}

// With argocd.printHealthChecks the notes end with the health checks as argo-cd chart
// values (configs.cm), the keys argocd-cm takes, each exactly its Lua script.
func TestChartNotesCarryArgoCDHealthChecks(t *testing.T) {
	r := mustRender(t, profile{set: map[string]any{"argocd.printHealthChecks": true}})
	i := strings.Index(r.notes, "\nconfigs:\n")
	if i < 0 {
		t.Fatalf("no configs: block in the notes:\n%s", r.notes)
	}
	var snippet struct {
		Configs struct {
			CM map[string]string `json:"cm"`
		} `json:"configs"`
	}
	if err := yaml.UnmarshalStrict([]byte(r.notes[i:]), &snippet); err != nil {
		t.Fatalf("the snippet is not YAML: %v\n%s", err, r.notes[i:])
	}
	want := map[string]string{}
	script := string(readFile(t, filepath.Join(repoRoot, "config/argocd/health", argocdhealth.ScriptFile)))
	for _, kind := range argocdhealth.Kinds {
		want[argocdhealth.ConfigMapKey(kind)] = script
	}
	if diff := cmp.Diff(want, snippet.Configs.CM); diff != "" {
		t.Errorf("notes differ from config/argocd/health (-want +got):\n%s", diff)
	}

	plain := mustRender(t, profile{})
	if strings.Contains(plain.notes, "resource.customizations") || !strings.Contains(plain.notes, "argocd.printHealthChecks=true") {
		t.Errorf("without argocd.printHealthChecks the notes should only say how to get the checks:\n%s", plain.notes)
	}
}

// A value of the chart that the tests name must exist in values.yaml, so that a
// renamed value breaks here.
func TestDesignedValuesExist(t *testing.T) {
	var vals map[string]any
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "values.yaml")), &vals); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"manager.replicas", "store.replicas", "store.database", "serviceMonitor.enabled", "prometheusRule.enabled", "tokens.manager.existingSecret", "tokens.store.existingSecret", "argocd.printHealthChecks"} {
		var cur any = vals
		for _, k := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[k]
		}
		if cur == nil {
			t.Errorf("values.yaml has no %s", path)
		}
	}
	if _, err := os.Stat(filepath.Join(chartDir, "values-postgres.yaml")); err != nil {
		t.Error(err)
	}
}
