package crash

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// runReport collects the figures of one crash run for the test log (and the
// figures in docs/testing.md).
type runReport struct {
	seed  uint64
	kills int

	mu sync.Mutex
	// killsUp/killsStarting count the manager kills after its controllers had started
	// and during its start-up; upTimes are the times it ran before each kill.
	killsUp, killsStarting int
	// killsBusy count the kills that cut off requests to the store in flight.
	killsBusy  int
	upTimes    []time.Duration
	storeKills int
	storeDown  []time.Duration
	steps      map[opKind]int

	faults   map[faultKind]int64
	requests int64
	verdict  verdict

	setup, run, settle, total time.Duration
}

func (r *runReport) noteKill(up time.Duration, workersStarted, busy bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upTimes = append(r.upTimes, up)
	if busy {
		r.killsBusy++
	}
	if workersStarted {
		r.killsUp++
	} else {
		r.killsStarting++
	}
}

func (r *runReport) noteStoreKill(down time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.storeKills++
	r.storeDown = append(r.storeDown, down)
}

func (r *runReport) countSteps(steps []step) {
	r.steps = map[opKind]int{}
	for _, s := range steps {
		r.steps[s.kind]++
	}
}

// String is the report: kills, steps, faults by kind, durations and invariants.
func (r *runReport) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "crash harness report (seed %d)\n", r.seed)
	fmt.Fprintf(&b, "  manager SIGKILLs: %d (%d with its controllers running, %d during start-up; %d with store requests in flight; up %s before a kill on average)\n",
		len(r.upTimes), r.killsUp, r.killsStarting, r.killsBusy, mean(r.upTimes).Round(10*time.Millisecond))
	fmt.Fprintf(&b, "  store SIGKILLs mid fan-out: %d (down %s on average, restart included)\n", r.storeKills, mean(r.storeDown).Round(10*time.Millisecond))
	var steps []string
	total := 0
	for k := range numOpKinds {
		if n := r.steps[k]; n > 0 {
			steps = append(steps, fmt.Sprintf("%s %d", k, n))
			total += n
		}
	}
	fmt.Fprintf(&b, "  workload steps: %d (%s)\n", total, strings.Join(steps, ", "))
	var faults []string
	var injected int64
	for k := range numFaultKinds {
		faults = append(faults, fmt.Sprintf("%s %d", k, r.faults[k]))
		injected += r.faults[k]
	}
	fmt.Fprintf(&b, "  faults injected: %d on %d proxied requests (%s)\n", injected, r.requests, strings.Join(faults, ", "))
	fmt.Fprintf(&b, "  durations: set-up %s, workload under kills and faults %s, settle %s, total %s\n",
		r.setup.Round(100*time.Millisecond), r.run.Round(100*time.Millisecond), r.settle.Round(100*time.Millisecond), r.total.Round(100*time.Millisecond))
	b.WriteString("  invariants:\n")
	b.WriteString(r.verdict.summary())
	return b.String()
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// Redaction of what the harness prints from the processes' logs: email addresses,
// invitation links and the store token never reach the test output.
var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	linkPattern  = regexp.MustCompile(`/invite/[^\s"'<>]+`)
)

func redact(s, token string) string {
	if token != "" {
		s = strings.ReplaceAll(s, token, "<token>")
	}
	s = linkPattern.ReplaceAllString(s, "/invite/<redacted>")
	return emailPattern.ReplaceAllString(s, "<email>")
}

// maxLogLine cuts long log lines (stack traces) in what the harness prints.
const maxLogLine = 400

// redactedTail is the last n lines of a log, redacted, each cut at maxLogLine.
func redactedTail(path string, n int, token string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > maxLogLine {
			lines[i] = l[:maxLogLine] + " …"
		}
	}
	return redact(strings.Join(lines, "\n"), token)
}

// redactedError is err with the redacted tail of the log it concerns.
func redactedError(err error, logPath, token string) error {
	return fmt.Errorf("%s\nlog (redacted tail):\n%s", redact(err.Error(), token), redactedTail(logPath, 30, token))
}
