package scale

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sample is one line of the Prometheus text exposition format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Samples is a parsed /metrics page.
type Samples []Sample

// ParseMetrics parses the Prometheus text format (version 0.0.4), which is what
// kube-apiserver, controller-runtime and the store serve without content
// negotiation. It is written here rather than taken from prometheus/common because
// only counters are needed and the harness must not add module dependencies.
// Comments and blank lines are skipped; a malformed line is an error, so that a
// changed format is noticed instead of silently counting zero.
func ParseMetrics(text string) (Samples, error) {
	var out Samples
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d %q: %w", n+1, truncate(line, 120), err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSample(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, fmt.Errorf("no value")
	}
	s.Name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		var err error
		if rest, err = parseLabels(rest[1:], s.Labels); err != nil {
			return s, err
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return s, fmt.Errorf("want a value and an optional timestamp")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value: %w", err)
	}
	s.Value = v
	return s, nil
}

// parseLabels reads `name="value",...}` into labels and returns what follows the
// closing brace. Values may hold escaped backslashes, quotes and newlines.
func parseLabels(in string, labels map[string]string) (string, error) {
	for {
		in = strings.TrimLeft(in, " \t,")
		if in == "" {
			return "", fmt.Errorf("unterminated labels")
		}
		if in[0] == '}' {
			return in[1:], nil
		}
		eq := strings.IndexByte(in, '=')
		if eq <= 0 || eq+1 >= len(in) || in[eq+1] != '"' {
			return "", fmt.Errorf("bad label")
		}
		name := strings.TrimSpace(in[:eq])
		var b strings.Builder
		j := eq + 2
		for ; j < len(in) && in[j] != '"'; j++ {
			if in[j] == '\\' && j+1 < len(in) {
				j++
				switch in[j] {
				case 'n':
					b.WriteByte('\n')
				default:
					b.WriteByte(in[j])
				}
				continue
			}
			b.WriteByte(in[j])
		}
		if j >= len(in) {
			return "", fmt.Errorf("unterminated label value")
		}
		labels[name] = b.String()
		in = in[j+1:]
	}
}

// Sum adds the values of the samples called name that keep accepts (nil: all).
func (ss Samples) Sum(name string, keep func(map[string]string) bool) float64 {
	var total float64
	for _, s := range ss {
		if s.Name == name && (keep == nil || keep(s.Labels)) {
			total += s.Value
		}
	}
	return total
}

// SumBy is Sum grouped by the values of the labels keys, joined with a space.
func (ss Samples) SumBy(name string, keep func(map[string]string) bool, keys ...string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range ss {
		if s.Name != name || (keep != nil && !keep(s.Labels)) {
			continue
		}
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = s.Labels[k]
		}
		out[strings.Join(parts, " ")] += s.Value
	}
	return out
}

// Metric names and label values the harness counts.
const (
	metricStoreRequests = "studio_store_http_requests_total"
	metricAPIRequests   = "apiserver_request_total"
	metricRESTRequests  = "rest_client_requests_total"
	metricReconciles    = "controller_runtime_reconcile_total"
	storeMetricsRoute   = "GET /metrics"
	studioGroup         = "iam.studio-operator.io"
)

// storeRequest keeps the store's API requests: every route except the scrape of
// /metrics itself, which only the harness calls.
func storeRequest(l map[string]string) bool { return l["route"] != storeMetricsRoute }

// writeVerbs are the verbs of apiserver_request_total that change state.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true, "APPLY": true}

// operatorWrite keeps the API writes the operator (or the floor, or the harness's
// creates) causes: the Studio kinds, Secrets and Events. Everything else (leases,
// the control plane's own bookkeeping) is left out, because it happens whatever the
// operator does.
func operatorWrite(l map[string]string) bool {
	if !writeVerbs[l["verb"]] {
		return false
	}
	return l["group"] == studioGroup || l["resource"] == "secrets" || l["resource"] == "events"
}

// counters are the cumulative counters one snapshot holds; deltas of two snapshots
// are what a phase cost.
type counters struct {
	StoreRequests float64            `json:"storeRequests"`
	StoreByRoute  map[string]float64 `json:"storeByRoute,omitempty"`
	APIWrites     float64            `json:"apiWrites"`
	APIWritesBy   map[string]float64 `json:"apiWritesBy,omitempty"`
	ManagerREST   float64            `json:"managerRest"`
	Reconciles    map[string]float64 `json:"reconciles,omitempty"`
	// CPUSeconds is CPU time by process (cpuSeconds).
	CPUSeconds map[string]float64 `json:"cpuSeconds,omitempty"`
}

// sub is c - base, dropping map entries that did not change.
func (c counters) sub(base counters) counters {
	return counters{
		StoreRequests: c.StoreRequests - base.StoreRequests,
		StoreByRoute:  subMap(c.StoreByRoute, base.StoreByRoute),
		APIWrites:     c.APIWrites - base.APIWrites,
		APIWritesBy:   subMap(c.APIWritesBy, base.APIWritesBy),
		ManagerREST:   c.ManagerREST - base.ManagerREST,
		Reconciles:    subMap(c.Reconciles, base.Reconciles),
		CPUSeconds:    subMap(c.CPUSeconds, base.CPUSeconds),
	}
}

func subMap(cur, base map[string]float64) map[string]float64 {
	if cur == nil {
		return nil
	}
	out := map[string]float64{}
	for k, v := range cur {
		if d := v - base[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// fromStore, fromAPIServer and fromManager fill the counters of one source.
func (c *counters) fromStore(ss Samples) {
	c.StoreRequests = ss.Sum(metricStoreRequests, storeRequest)
	c.StoreByRoute = ss.SumBy(metricStoreRequests, storeRequest, "route")
}

func (c *counters) fromAPIServer(ss Samples) {
	c.APIWrites = ss.Sum(metricAPIRequests, operatorWrite)
	c.APIWritesBy = ss.SumBy(metricAPIRequests, operatorWrite, "verb", "resource", "subresource")
}

func (c *counters) fromManager(ss Samples) {
	c.ManagerREST = ss.Sum(metricRESTRequests, nil)
	c.Reconciles = ss.SumBy(metricReconciles, nil, "controller", "result")
}

// scrapeHTTP fetches and parses a plain-HTTP /metrics page.
func scrapeHTTP(ctx context.Context, url string) (Samples, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	return ParseMetrics(string(body))
}

// topN renders the n largest entries of m as "key=value, ...", for the raw numbers.
func topN(m map[string]float64, n int) string {
	type kv struct {
		k string
		v float64
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].v != all[j].v {
			return all[i].v > all[j].v
		}
		return all[i].k < all[j].k
	})
	var parts []string
	for i, e := range all {
		if i == n {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(all)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s: %s", strings.TrimSpace(e.k), fmtCount(e.v)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
