package observability

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// selector is one vector selector of a PromQL expression: the metric it names and
// the label names it matches on.
type selector struct {
	Metric string
	Labels []string
}

// PromQL's functions (as of Prometheus 3), which are followed by "(" and select
// nothing themselves. An identifier followed by "(" that is not one of them is a
// mistake (a misspelt function) and is reported, rather than taken for a metric.
var promqlFunctions = setOf(
	"abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
	"avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
	"count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
	"delta", "deriv", "double_exponential_smoothing", "end", "exp", "first_over_time", "floor",
	"histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile",
	"histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta",
	"increase", "info", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10",
	"log2", "mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi",
	"predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets",
	"round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc",
	"sort_desc", "sqrt", "start", "stddev_over_time", "stdvar_over_time", "sum_over_time",
	"tan", "tanh", "time", "timestamp", "ts_of_first_over_time", "ts_of_last_over_time",
	"ts_of_max_over_time", "ts_of_min_over_time", "vector", "year",
)

// PromQL's aggregation operators: keywords, whether "(" follows at once or after a
// by/without clause.
var promqlAggregations = setOf(
	"avg", "bottomk", "count", "count_values", "group", "limit_ratio", "limitk", "max", "min",
	"quantile", "stddev", "stdvar", "sum", "topk",
)

// PromQL's other keywords; those of labelListKeywords take a parenthesised list of
// label names, which are not metrics.
var (
	promqlKeywords    = setOf("and", "or", "unless", "bool", "offset", "inf", "nan", "atan2", "smoothed", "anchored")
	labelListKeywords = setOf("by", "without", "on", "ignoring", "group_left", "group_right")
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// selectors lexes a PromQL expression, as written in a rule or in a Grafana panel
// (Grafana's $variables and ${variables} allowed), and returns its vector
// selectors. It is a lexer, not a parser: it knows strings, comments, label matchers,
// range and subquery brackets, label lists after by/without/on/ignoring/group_*,
// numbers and durations, functions, aggregations and keywords; every other
// identifier names a metric. A metric named only through a regular expression on
// __name__ cannot be checked and is an error.
func selectors(expr string) ([]selector, error) {
	var out []selector
	s := expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(s, i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '$':
			i = skipGrafanaVariable(s, i)
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("offset %d: unclosed [", i)
			}
			i += j + 1
		case c == '{':
			sel, j, err := matchers(s, i)
			if err != nil {
				return nil, err
			}
			if sel.Metric == "" {
				return nil, fmt.Errorf("offset %d: selector without a metric name", i)
			}
			out = append(out, sel)
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			i = skipNumber(s, i)
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			lower := strings.ToLower(word)
			switch {
			case labelListKeywords[lower]:
				i = j
				if k < len(s) && s[k] == '(' {
					end, err := skipLabelList(s, k)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", word, err)
					}
					i = end
				}
			case promqlKeywords[lower] || promqlAggregations[lower]:
				i = j
			case k < len(s) && s[k] == '(':
				if !promqlFunctions[word] {
					return nil, fmt.Errorf("offset %d: %s( is not a PromQL function", i, word)
				}
				i = j
			default:
				sel := selector{Metric: word}
				i = j
				if k < len(s) && s[k] == '{' {
					inner, end, err := matchers(s, k)
					if err != nil {
						return nil, err
					}
					if inner.Metric != "" {
						return nil, fmt.Errorf("offset %d: %s names its metric twice", i, word)
					}
					sel.Labels = inner.Labels
					i = end
				}
				out = append(out, sel)
			}
		default:
			i++
		}
	}
	return out, nil
}

// matchers reads the label matchers starting at s[i] == '{' and returns them and
// the offset after the closing brace. A matcher __name__="x" (or a bare quoted
// name, Prometheus 3's form for any metric name) names the metric.
func matchers(s string, i int) (selector, int, error) {
	var sel selector
	i++
	for {
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return sel, i, fmt.Errorf("unclosed {")
		}
		if s[i] == '}' {
			return sel, i + 1, nil
		}
		var name string
		switch {
		case s[i] == '"' || s[i] == '\'' || s[i] == '`':
			j, err := skipString(s, i)
			if err != nil {
				return sel, i, err
			}
			name, i = unquote(s[i:j]), j
		case isIdentStart(s[i]):
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			name, i = s[i:j], j
		default:
			return sel, i, fmt.Errorf("offset %d: unexpected %q in label matchers", i, s[i])
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i < len(s) && (s[i] == ',' || s[i] == '}') {
			sel.Metric = name // {"metric.name"}
			continue
		}
		op := ""
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s[i:], o) {
				op = o
				break
			}
		}
		if op == "" {
			return sel, i, fmt.Errorf("offset %d: label %s without a matcher", i, name)
		}
		i += len(op)
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) || (s[i] != '"' && s[i] != '\'' && s[i] != '`') {
			return sel, i, fmt.Errorf("offset %d: label %s: value is not a string", i, name)
		}
		j, err := skipString(s, i)
		if err != nil {
			return sel, i, err
		}
		value := unquote(s[i:j])
		i = j
		if name == "__name__" {
			if op != "=" {
				return sel, i, fmt.Errorf("__name__%s%q: a metric selected by pattern cannot be checked", op, value)
			}
			sel.Metric = value
			continue
		}
		sel.Labels = append(sel.Labels, name)
	}
}

// skipLabelList returns the offset after the list of label names starting at
// s[i] == '(', as in by (namespace, job).
func skipLabelList(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == ')':
			return j + 1, nil
		case c == '"':
			end, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case !isIdentChar(c) && !isSpace(c) && c != ',':
			return 0, fmt.Errorf("offset %d: %q in a label list", j, c)
		}
	}
	return 0, fmt.Errorf("offset %d: unclosed label list", i)
}

// skipString returns the offset after the string literal starting at s[i].
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("offset %d: unclosed string", i)
}

// unquote strips the quotes of a string literal; label and metric names need no
// escapes, so they are left as they are.
func unquote(lit string) string { return lit[1 : len(lit)-1] }

// skipGrafanaVariable returns the offset after $name or ${name...} at s[i].
func skipGrafanaVariable(s string, i int) int {
	if i+1 < len(s) && s[i+1] == '{' {
		if end := strings.IndexByte(s[i:], '}'); end >= 0 {
			return i + end + 1
		}
		return len(s)
	}
	j := i + 1
	for j < len(s) && isIdentChar(s[j]) {
		j++
	}
	return j
}

// skipNumber returns the offset after a number or a duration at s[i]: 0.5, 1e-3,
// 0x1f, 5m, 1h30m, Inf forms aside (keywords).
func skipNumber(s string, i int) int {
	j := i
	for j < len(s) {
		c := s[j]
		switch {
		case isDigit(c) || isLetter(c) || c == '.' || c == '_':
			j++
		case (c == '+' || c == '-') && j > i && (s[j-1] == 'e' || s[j-1] == 'E') && !strings.HasPrefix(s[i:], "0x"):
			j++
		default:
			return j
		}
	}
	return j
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isLetter(c byte) bool     { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentStart(c byte) bool { return isLetter(c) || c == '_' || c == ':' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// labelValuesQuery matches Grafana's label_values(selector, label) variable query.
var labelValuesQuery = regexp.MustCompile(`(?s)^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// grafanaVariableExpr returns the PromQL inside a Grafana variable query:
// label_values(selector, label) and query_result(expr) select metrics;
// label_values(label) and metrics(regex) select none.
func grafanaVariableExpr(query string) string {
	q := strings.TrimSpace(query)
	if m := labelValuesQuery.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	if inner, ok := strings.CutPrefix(q, "query_result("); ok {
		return strings.TrimSuffix(inner, ")")
	}
	return ""
}

func TestSelectors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []selector
	}{
		{`up`, []selector{{Metric: "up"}}},
		{`rate(a_total{job=~"$job", code!="ok"}[$__rate_interval])`,
			[]selector{{Metric: "a_total", Labels: []string{"job", "code"}}}},
		{`sum by (namespace, job) (rate(x_total[5m])) / sum without(le) (y_count) > 0.1`,
			[]selector{{Metric: "x_total"}, {Metric: "y_count"}}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket{a="}{"}[10m:1m] offset 5m)))`,
			[]selector{{Metric: "h_bucket", Labels: []string{"a"}}}},
		{"a\n  or # b is a comment\nc unless on (job) group_left (x) d and bool e == 1e-3",
			[]selector{{Metric: "a"}, {Metric: "c"}, {Metric: "d"}, {Metric: "e"}}},
		{`{__name__="n", job="j"} + {"utf8.name"} - 0x1F * Inf`,
			[]selector{{Metric: "n", Labels: []string{"job"}}, {Metric: "utf8.name"}}},
		{`absent(up{job=~".*x"} == 1) and max_over_time(g[10m]) > 1800`,
			[]selector{{Metric: "up", Labels: []string{"job"}}, {Metric: "g"}}},
		{`label_replace(m, "dst", "$1", "src", "(.*)")`, []selector{{Metric: "m"}}},
		{`topk(5, sum(m1) by (a)) @ start()`, []selector{{Metric: "m1"}}},
	} {
		got, err := selectors(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if !slices.EqualFunc(got, tc.want, func(a, b selector) bool {
			return a.Metric == b.Metric && slices.Equal(a.Labels, b.Labels)
		}) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.expr, got, tc.want)
		}
	}
}

func TestSelectorsRefuse(t *testing.T) {
	for _, expr := range []string{
		`rat(x[5m])`,                // misspelt function
		`{__name__=~"studio_.*"}`,   // metric by pattern
		`{job="x"}`,                 // no metric
		`sum(x{job="x}[5m])`,        // unclosed string
		`x{job}`,                    // matcher without operator
		`rate(x[5m)`,                // unclosed range
		`x{__name__="y"}`,           // named twice
		`sum by (job (rate(x[5m]))`, // unclosed label list
	} {
		if sels, err := selectors(expr); err == nil {
			t.Errorf("%s: no error, selectors %+v", expr, sels)
		}
	}
}

func TestGrafanaVariableExpr(t *testing.T) {
	for q, want := range map[string]string{
		`label_values(up{namespace=~"$namespace"}, job)`: `up{namespace=~"$namespace"}`,
		`label_values(namespace)`:                        ``,
		`query_result(sum by (job) (up))`:                `sum by (job) (up)`,
		`metrics(studio_.*)`:                             ``,
	} {
		if got := grafanaVariableExpr(q); got != want {
			t.Errorf("%s: got %q, want %q", q, got, want)
		}
	}
}
