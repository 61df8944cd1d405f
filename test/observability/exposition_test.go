package observability

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// exposition is what one /metrics page (Prometheus text format 0.0.4, which
// client_golang serves to a client that asks for nothing else) exports: the
// families announced by # HELP or # TYPE, and the label names seen on each sample
// name. It is parsed here rather than with prometheus/common/expfmt so that the
// module's direct dependencies stay as they are.
type exposition struct {
	// families maps a family name to its type ("" when only # HELP announced it).
	families map[string]string
	// samples maps a sample name (a histogram's foo_bucket, foo_sum, foo_count) to
	// the label names seen on it.
	samples map[string]map[string]bool
}

// parseExposition parses a page; a malformed sample line is an error, so that a
// change of format is noticed rather than read as "nothing exported".
func parseExposition(text string) (exposition, error) {
	e := exposition{families: map[string]string{}, samples: map[string]map[string]bool{}}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "# HELP "), strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) < 3 {
				return e, fmt.Errorf("line %d: %q", n+1, line)
			}
			if f[1] == "TYPE" && len(f) >= 4 {
				e.families[f[2]] = f[3]
			} else if _, ok := e.families[f[2]]; !ok {
				e.families[f[2]] = ""
			}
		case line[0] == '#':
		default:
			name, labels, err := parseSampleLine(line)
			if err != nil {
				return e, fmt.Errorf("line %d: %w", n+1, err)
			}
			seen := e.samples[name]
			if seen == nil {
				seen = map[string]bool{}
				e.samples[name] = seen
			}
			for _, l := range labels {
				seen[l] = true
			}
		}
	}
	return e, nil
}

// parseSampleLine returns the name and the label names of `name{a="x",b="y"} value`.
func parseSampleLine(line string) (string, []string, error) {
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return "", nil, fmt.Errorf("no value in %q", line)
	}
	name := line[:i]
	var labels []string
	if line[i] == '{' {
		rest := line[i+1:]
		for {
			rest = strings.TrimLeft(rest, ", ")
			if strings.HasPrefix(rest, "}") {
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return "", nil, fmt.Errorf("bad labels in %q", line)
			}
			labels = append(labels, rest[:eq])
			rest = rest[eq+2:]
			end := -1
			for j := 0; j < len(rest); j++ {
				if rest[j] == '\\' {
					j++
				} else if rest[j] == '"' {
					end = j
					break
				}
			}
			if end < 0 {
				return "", nil, fmt.Errorf("unclosed label value in %q", line)
			}
			rest = rest[end+1:]
		}
	}
	return name, labels, nil
}

// histogramSuffixes are the sample names a histogram or summary family exports
// besides its own name.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// has reports whether the page exports name: as a sample, or as a family announced
// by # HELP/# TYPE without samples yet (then a _bucket, _sum or _count name needs
// its family to be a histogram or summary).
func (e exposition) has(name string) bool {
	if _, ok := e.samples[name]; ok {
		return true
	}
	if _, ok := e.families[name]; ok {
		return true
	}
	for _, suffix := range histogramSuffixes {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if typ := e.families[base]; typ == "histogram" || typ == "summary" {
				return true
			}
		}
	}
	return false
}

// labels returns the label names seen on the samples of name (nil when it has
// none yet).
func (e exposition) labels(name string) map[string]bool { return e.samples[name] }

func TestParseExposition(t *testing.T) {
	page := `# HELP h_seconds Latency.
# TYPE h_seconds histogram
h_seconds_bucket{op="Get",le="0.1"} 1
h_seconds_bucket{op="Get",le="+Inf"} 1
h_seconds_sum{op="Get"} 0.05
h_seconds_count{op="Get"} 1
# HELP c_total Counter with odd values.
# TYPE c_total counter
c_total{route="GET /a/{b}",msg="say \"hi\", ok"} 3
# HELP empty_total Announced, not observed yet.
# TYPE empty_total counter
# HELP later_seconds A histogram without samples.
# TYPE later_seconds histogram
g 1 1700000000000
`
	e, err := parseExposition(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"h_seconds_bucket", "h_seconds_count", "c_total", "empty_total", "later_seconds_bucket", "g"} {
		if !e.has(name) {
			t.Errorf("has(%s) = false", name)
		}
	}
	for _, name := range []string{"c", "empty_total_count", "g_sum", "missing"} {
		if e.has(name) {
			t.Errorf("has(%s) = true", name)
		}
	}
	got := e.labels("c_total")
	if !got["route"] || !got["msg"] || len(got) != 2 {
		t.Errorf("labels(c_total) = %v", got)
	}
	if l := e.labels("h_seconds_bucket"); !l["le"] || !l["op"] {
		t.Errorf("labels(h_seconds_bucket) = %v", l)
	}
	if _, err := parseExposition("x{a=1} 2\n"); err == nil {
		t.Error("malformed labels parsed")
	}
	keys := make([]string, 0, len(e.families))
	for k := range e.families {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"c_total", "empty_total", "h_seconds", "later_seconds"}; !slices.Equal(keys, want) {
		t.Errorf("families %v, want %v", keys, want)
	}
}
