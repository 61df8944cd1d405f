package observability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// The files under test, relative to the repository root.
const (
	repoRoot       = "../.."
	dashboardFile  = "config/grafana/studio-operator.json"
	rulesFile      = "config/prometheus/studio-operator-rules.yaml"
	operationsDoc  = "docs/operations.md"
	runbookPrefix  = "https://github.com/studio-operator/studio-operator/blob/main/" + operationsDoc + "#"
	minSchema      = 39
	datasourceUID  = "${datasource}"
	datasourceType = "prometheus"
)

// The dashboard's rows, in order.
var wantRows = []string{
	"Operator reconciles",
	"Store requests from the operator",
	"Access changes and invitations",
	"Store HTTP",
	"Mail outbox",
	"Audit",
	"Processes",
}

// The alerts that must exist (others may).
var wantAlerts = []string{
	"StudioStoreUnavailable",
	"StudioOperatorReconcileErrors",
	"StudioMailDeadLettered",
	"StudioMailBacklog",
	"StudioRevocationsHeld",
	"StudioAuditChainBroken",
}

// The parts of the dashboard this package reads; Grafana's other fields are left
// alone.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	GridPos    gridPos        `json:"gridPos"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []target       `json:"targets"`
	// Panels are those of a collapsed row.
	Panels []panel `json:"panels"`
}

type gridPos struct {
	H, W, X, Y int
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	Expr       string         `json:"expr"`
	RefID      string         `json:"refId"`
	Datasource *datasourceRef `json:"datasource"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasourceRef  `json:"datasource"`
}

// query is the variable's query, given as a string or as {"query": "..."}.
func (v variable) query() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &o)
	return o.Query
}

// expression is one PromQL expression of the dashboard or the rules, with where
// it is written, for messages.
type expression struct {
	where string
	expr  string
	// filtered: a dashboard panel's, which must match job and namespace on the
	// template variables.
	filtered bool
}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readRepoFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

func loadRules(t *testing.T) monitoringv1.PrometheusRule {
	t.Helper()
	var r monitoringv1.PrometheusRule
	if err := yaml.UnmarshalStrict(readRepoFile(t, rulesFile), &r); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return r
}

// allPanels flattens rows: the panels of collapsed rows follow their row.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// expressions lists every PromQL expression of the dashboard (panel targets and
// variable queries) and of the rules.
func expressions(t *testing.T) []expression {
	t.Helper()
	var out []expression
	d := loadDashboard(t)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if e := grafanaVariableExpr(v.query()); e != "" {
			out = append(out, expression{where: fmt.Sprintf("%s: variable %s", dashboardFile, v.Name), expr: e})
		}
	}
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			out = append(out, expression{
				where:    fmt.Sprintf("%s: panel %d %q target %s", dashboardFile, p.ID, p.Title, tg.RefID),
				expr:     tg.Expr,
				filtered: true,
			})
		}
	}
	r := loadRules(t)
	for _, g := range r.Spec.Groups {
		for _, rule := range g.Rules {
			out = append(out, expression{where: fmt.Sprintf("%s: %s", rulesFile, rule.Alert+rule.Record), expr: rule.Expr.String()})
		}
	}
	return out
}

func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: both are needed for a stable import", d.UID, d.Title)
	}
	if d.SchemaVersion < minSchema {
		t.Errorf("schemaVersion %d, want at least %d", d.SchemaVersion, minSchema)
	}

	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v, ok := vars["datasource"]; !ok || v.Type != "datasource" || v.query() != datasourceType {
		t.Errorf("variable datasource: %+v, want type datasource with query %s", v, datasourceType)
	}
	for _, name := range []string{"job", "namespace"} {
		v, ok := vars[name]
		switch {
		case !ok:
			t.Errorf("no template variable %s", name)
		case v.Type != "query" || v.query() == "":
			t.Errorf("variable %s: type %q, query %q; want a query variable", name, v.Type, v.query())
		case !usesTemplatedDatasource(v.Datasource):
			t.Errorf("variable %s: datasource %+v, want uid %s", name, v.Datasource, datasourceUID)
		}
	}

	ids := map[int]string{}
	var rows []string
	var occupied []gridPos
	for _, p := range allPanels(d.Panels) {
		name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.ID <= 0 {
			t.Errorf("%s: no id", name)
		} else if other, dup := ids[p.ID]; dup {
			t.Errorf("%s: id also used by %q", name, other)
		}
		ids[p.ID] = p.Title
		if p.Title == "" {
			t.Errorf("%s: no title", name)
		}
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v outside the 24-column grid", name, g)
		}
		for _, o := range occupied {
			if g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
				t.Errorf("%s: gridPos %+v overlaps %+v", name, g, o)
			}
		}
		occupied = append(occupied, g)
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if !usesTemplatedDatasource(p.Datasource) {
			t.Errorf("%s: datasource %+v, want uid %s", name, p.Datasource, datasourceUID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no targets", name)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("%s: missing or repeated refId %q", name, tg.RefID)
			}
			refs[tg.RefID] = true
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: target %s has no expr", name, tg.RefID)
			}
			if tg.Datasource != nil && !usesTemplatedDatasource(tg.Datasource) {
				t.Errorf("%s: target %s datasource %+v", name, tg.RefID, tg.Datasource)
			}
		}
	}
	if !slices.Equal(rows, wantRows) {
		t.Errorf("rows %q, want %q", rows, wantRows)
	}
}

func usesTemplatedDatasource(ds *datasourceRef) bool {
	return ds != nil && ds.UID == datasourceUID && ds.Type == datasourceType
}

// TestDashboardFiltersByJobAndNamespace: every selector of a panel honours the job
// and namespace variables, so a dashboard showing one installation shows nothing of
// another.
func TestDashboardFiltersByJobAndNamespace(t *testing.T) {
	for _, e := range expressions(t) {
		if !e.filtered {
			continue
		}
		sels, err := selectors(e.expr)
		if err != nil {
			t.Errorf("%s: %v", e.where, err)
			continue
		}
		for _, s := range sels {
			if !slices.Contains(s.Labels, "job") || !slices.Contains(s.Labels, "namespace") {
				t.Errorf("%s: %s does not match on job and namespace", e.where, s.Metric)
			}
		}
	}
}

// Prometheus durations (for:), as the Prometheus Operator's CRD accepts them.
var promDuration = regexp.MustCompile(`^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$`)

// CamelCase alert names, as Prometheus' own conventions have them.
var alertName = regexp.MustCompile(`^Studio[A-Z][A-Za-z0-9]+$`)

func TestPrometheusRule(t *testing.T) {
	r := loadRules(t)
	if r.APIVersion != "monitoring.coreos.com/v1" || r.Kind != "PrometheusRule" || r.Name == "" {
		t.Fatalf("apiVersion %q kind %q name %q, want a monitoring.coreos.com/v1 PrometheusRule with a name", r.APIVersion, r.Kind, r.Name)
	}
	anchors := headingAnchors(t, readRepoFile(t, operationsDoc))
	if len(r.Spec.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	groups := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range r.Spec.Groups {
		if g.Name == "" || groups[g.Name] {
			t.Errorf("group name %q empty or repeated", g.Name)
		}
		groups[g.Name] = true
		if len(g.Rules) == 0 {
			t.Errorf("group %s has no rules", g.Name)
		}
		for _, rule := range g.Rules {
			name := rule.Alert
			if name == "" {
				t.Errorf("group %s: a rule without alert (recording rules are not expected here): %s", g.Name, rule.Record)
				continue
			}
			if alerts[name] {
				t.Errorf("alert %s defined twice", name)
			}
			alerts[name] = true
			if !alertName.MatchString(name) {
				t.Errorf("alert %s: not a Studio… CamelCase name", name)
			}
			if strings.TrimSpace(rule.Expr.String()) == "" {
				t.Errorf("alert %s: no expr", name)
			} else if sels, err := selectors(rule.Expr.String()); err != nil || len(sels) == 0 {
				t.Errorf("alert %s: expr selects nothing or does not lex: %v", name, err)
			}
			if rule.For == nil || !promDuration.MatchString(string(*rule.For)) {
				t.Errorf("alert %s: for %v, want a Prometheus duration", name, rule.For)
			}
			switch rule.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("alert %s: labels.severity %q, want critical, warning or info", name, rule.Labels["severity"])
			}
			for _, key := range []string{"summary", "description", "runbook_url"} {
				text := strings.TrimSpace(rule.Annotations[key])
				if text == "" {
					t.Errorf("alert %s: no annotations.%s", name, key)
					continue
				}
				if err := checkAlertTemplate(text); err != nil {
					t.Errorf("alert %s: annotations.%s: %v", name, key, err)
				}
			}
			if url := rule.Annotations["runbook_url"]; url != "" {
				anchor, ok := strings.CutPrefix(url, runbookPrefix)
				if !ok || !anchors[anchor] {
					t.Errorf("alert %s: runbook_url %s is not a heading of %s (%s…)", name, url, operationsDoc, runbookPrefix)
				}
			}
		}
	}
	for _, want := range wantAlerts {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

// checkAlertTemplate parses and renders an annotation as Prometheus does: a Go
// text/template with $labels, $externalLabels and $value defined, and its
// formatting functions (stubbed: only their use is checked).
func checkAlertTemplate(text string) error {
	str := func(v any) string { return fmt.Sprint(v) }
	funcs := template.FuncMap{
		"humanize": str, "humanize1024": str, "humanizeDuration": str, "humanizePercentage": str,
		"humanizeTimestamp": str, "title": str, "toUpper": str, "toLower": str, "first": func(v any) any { return v },
		"label":         func(string, any) string { return "" },
		"value":         func(v any) any { return v },
		"reReplaceAll":  func(_, _, s string) string { return s },
		"match":         func(_, _ string) bool { return true },
		"stripPort":     str,
		"stripDomain":   str,
		"query":         func(string) ([]any, error) { return nil, nil },
		"safeHtml":      str,
		"externalURL":   func() string { return "" },
		"pathPrefix":    func() string { return "" },
		"parseDuration": func(string) float64 { return 0 },
	}
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	tmpl, err := template.New("annotation").Option("missingkey=zero").Funcs(funcs).Parse(defs + text)
	if err != nil {
		return err
	}
	data := struct {
		Labels, ExternalLabels map[string]string
		ExternalURL            string
		Value                  float64
	}{Labels: map[string]string{}, ExternalLabels: map[string]string{}, Value: 1}
	return tmpl.Execute(&bytes.Buffer{}, data)
}

// headingAnchors returns the anchors GitHub gives the Markdown headings of doc
// (lower case, punctuation dropped, spaces as hyphens), skipping fenced code.
func headingAnchors(t *testing.T, doc []byte) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	fenced := false
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		anchors[b.String()] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return anchors
}

func TestHeadingAnchors(t *testing.T) {
	got := headingAnchors(t, []byte("# Operations\n## The local sandbox (studio-dev)\n```sh\n# not a heading\n```\n### `kubectl studio` users: the invitation column\n"))
	for _, want := range []string{"operations", "the-local-sandbox-studio-dev", "kubectl-studio-users-the-invitation-column"} {
		if !got[want] {
			t.Errorf("no anchor %s in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block was taken for a heading")
	}
}

// TestKustomizations: config/grafana and config/prometheus apply the files under
// test, so renaming one without the other fails here rather than at kubectl apply.
func TestKustomizations(t *testing.T) {
	var k struct {
		Resources          []string `json:"resources"`
		ConfigMapGenerator []struct {
			Files []string `json:"files"`
		} `json:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "config/prometheus/kustomization.yaml"), &k); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(k.Resources, filepath.Base(rulesFile)) {
		t.Errorf("config/prometheus/kustomization.yaml: resources %v lack %s", k.Resources, filepath.Base(rulesFile))
	}
	k.Resources = nil
	if err := yaml.Unmarshal(readRepoFile(t, "config/grafana/kustomization.yaml"), &k); err != nil {
		t.Fatal(err)
	}
	if len(k.ConfigMapGenerator) != 1 || !slices.Contains(k.ConfigMapGenerator[0].Files, filepath.Base(dashboardFile)) {
		t.Errorf("config/grafana/kustomization.yaml: configMapGenerator %+v does not hold %s", k.ConfigMapGenerator, filepath.Base(dashboardFile))
	}
}

// alertsSection of docs/operations.md explains the alerts.
const alertsSection = "## Dashboards and alerts"

// TestEveryAlertIsDocumented: each alert of the rule file has its row in the
// "Dashboards and alerts" section, which says what to do when it fires.
func TestEveryAlertIsDocumented(t *testing.T) {
	doc, where := readRepoFile(t, operationsDoc), operationsDoc
	_, section, ok := strings.Cut(string(doc), alertsSection+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", operationsDoc, alertsSection)
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	for _, g := range loadRules(t).Spec.Groups {
		for _, rule := range g.Rules {
			row := "| `" + rule.Alert + "` | " + rule.Labels["severity"] + " |"
			if !strings.Contains(section, row) {
				t.Errorf("%s, %q: no row %q", where, alertsSection, row)
			}
		}
	}
}
