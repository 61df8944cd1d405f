package scale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

// auditPageSize is the store's largest page (internal/store/sqlstore: maxPageSize).
const auditPageSize = 1000

// maxAuditPages bounds one advance (1000 pages of 1000: a million entries).
const maxAuditPages = 1000

// auditCursor follows the store's audit log. It remembers where it stopped, so each
// look reads only the entries written since: reading the whole log at every poll
// would itself load the store at 10,000 users.
type auditCursor struct {
	c     *storeclient.Client
	after int64
	// entries is how many entries the cursor has read in all.
	entries int64
}

// advance reads every entry after the cursor, in seq order, passing each to fn (nil:
// only count), and returns how many it read.
func (a *auditCursor) advance(ctx context.Context, fn func(store.AuditEntry)) (int, error) {
	n := 0
	for range maxAuditPages {
		page, err := a.c.ListAudit(ctx, store.AuditFilter{After: a.after, Limit: auditPageSize})
		if err != nil {
			return n, fmt.Errorf("list audit after %d: %w", a.after, err)
		}
		for _, e := range page.Entries {
			if fn != nil {
				fn(e)
			}
			a.after = max(a.after, e.Seq)
		}
		n += len(page.Entries)
		a.entries += int64(len(page.Entries))
		if page.Next == nil {
			return n, nil
		}
		if *page.Next < a.after {
			return n, errors.New("the store moved the audit cursor backwards")
		}
		a.after = *page.Next
	}
	return n, fmt.Errorf("more than %d audit pages", maxAuditPages)
}

// plannerGrant reports the user key of an audit entry that says the user gained
// role at agency scope agency: action grant.added, target "user/<key>", details
// {"scope": {"agency": ...}, "role": ...} (internal/store/sqlstore grantChange).
func plannerGrant(e store.AuditEntry, agency string, role iamv1.Role) (string, bool) {
	if e.Action != store.ActionGrantAdded || !strings.HasPrefix(e.Target, "user/") {
		return "", false
	}
	if r, _ := e.Details["role"].(string); r != string(role) {
		return "", false
	}
	scope, _ := e.Details["scope"].(map[string]any)
	if a, _ := scope["agency"].(string); a != agency {
		return "", false
	}
	return strings.TrimPrefix(e.Target, "user/"), true
}

// FanoutResult is the fan-out phase.
type FanoutResult struct {
	Subjects int `json:"subjects"`
	// Observed is how many subjects the audit log showed gaining the role.
	Observed int `json:"observed"`
	// Seconds is from the patch to the poll that saw the last subject's grant;
	// LastEntrySeconds to the store's timestamp of that grant.
	Seconds          float64 `json:"seconds"`
	LastEntrySeconds float64 `json:"lastEntrySeconds"`
	// Verified and Sampled: subjects whose grant set (GetGrants) holds the role at
	// the agency, out of those checked.
	Verified int `json:"verified"`
	Sampled  int `json:"sampled"`
	// ReadySeconds is from the patch until every object was Ready again;
	// QuietSeconds until the last API write or audit entry before quietFor of
	// silence (Quiet false: it never fell silent within quietTimeout).
	ReadySeconds float64 `json:"readySeconds"`
	QuietSeconds float64 `json:"quietSeconds"`
	Quiet        bool    `json:"quiet"`
	// patchedAt is when the patch was sent.
	patchedAt time.Time
}

// Fan-out bounds.
const (
	fanoutPoll    = 200 * time.Millisecond
	fanoutTimeout = 10 * time.Minute
	fanoutSample  = 20
)

// measureFanout adds FanoutRole to binding b and times how long the store takes to
// show it for every subject, from the audit log (cheap: one page per poll), then
// checks a sample of the subjects' grant sets directly and waits until every object
// is Ready again.
func measureFanout(ctx context.Context, kube client.Client, tr *tracker, audit *auditCursor, st *storeclient.Client, b *iamv1.RoleBinding) (FanoutResult, error) {
	res := FanoutResult{Subjects: len(b.Spec.Subjects)}
	want := map[string]bool{}
	for _, s := range b.Spec.Subjects {
		want[s.Name] = true
	}
	if _, err := audit.advance(ctx, nil); err != nil {
		return res, err
	}
	cur := &iamv1.RoleBinding{}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(b), cur); err != nil {
		return res, err
	}
	roles := append(slices.Clone(cur.Spec.Roles), FanoutRole)
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"roles": roles}})
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, fanoutTimeout)
	defer cancel()
	start := time.Now()
	res.patchedAt = start
	if err := kube.Patch(ctx, cur, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return res, fmt.Errorf("patch %s/%s: %w", b.Namespace, b.Name, err)
	}
	gen := cur.GetGeneration()
	seen := map[string]bool{}
	var last time.Time
	tick := time.NewTicker(fanoutPoll)
	defer tick.Stop()
	for len(seen) < len(want) {
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("fan-out: %d of %d subjects gained %s at %s when the time ran out", len(seen), len(want), FanoutRole, FanoutAgency)
		case <-tick.C:
		}
		_, err := audit.advance(ctx, func(e store.AuditEntry) {
			if user, ok := plannerGrant(e, b.Spec.Scope.Agency, FanoutRole); ok && want[user] && !seen[user] {
				seen[user] = true
				last = e.Time
			}
		})
		if err != nil {
			return res, err
		}
		res.Observed = len(seen)
	}
	res.Seconds = time.Since(start).Seconds()
	res.LastEntrySeconds = last.Sub(start).Seconds()

	for _, s := range b.Spec.Subjects[:min(fanoutSample, len(b.Spec.Subjects))] {
		res.Sampled++
		gs, err := st.GetGrants(ctx, s.Name)
		if err != nil {
			return res, fmt.Errorf("grants of %s: %w", s.Name, err)
		}
		for _, g := range gs.Grants {
			if g.Scope.Agency == b.Spec.Scope.Agency && slices.Contains(g.Roles, cascade.Role(FanoutRole)) {
				res.Verified++
				break
			}
		}
	}

	// Settled: the binding itself reports the new generation, and everything is
	// Ready (subjects may be reconciled once more for their status).
	for !tr.readyAt("rolebinding", b, gen) {
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("fan-out: binding %s/%s not Ready at generation %d in time", b.Namespace, b.Name, gen)
		case <-time.After(pollInterval):
		}
	}
	at, err := tr.waitAllReady(ctx, "after fan-out", nil)
	if err != nil {
		return res, err
	}
	res.ReadySeconds = at.Sub(start).Seconds()
	return res, nil
}

// Quiet: how long nothing may change before the manager counts as settled, how
// often to look, and how long to wait at most (a manager that never stops writing
// is then measured as it is by the idle window).
const (
	quietFor     = 5 * time.Second
	quietPoll    = time.Second
	quietTimeout = 3 * time.Minute
)

// waitQuiet waits until the operator's API writes (Studio kinds, Secrets, Events)
// and the audit log have not changed for quietFor: Ready conditions come back
// before the last status.access patches and events of a fan-out are written, and
// those belong to the fan-out, not to the idle window. It returns when the last
// change was seen and whether it became quiet at all.
func waitQuiet(ctx context.Context, cp *controlPlane, audit *auditCursor) (time.Time, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, quietTimeout)
	defer cancel()
	var last counters
	lastChange := time.Now()
	for first := true; ; first = false {
		var c counters
		api, err := cp.apiMetrics(ctx)
		if err != nil {
			return lastChange, false, err
		}
		c.fromAPIServer(api)
		n, err := audit.advance(ctx, nil)
		if err != nil {
			return lastChange, false, err
		}
		now := time.Now()
		if first || n > 0 || c.APIWrites != last.APIWrites {
			lastChange = now
		} else if now.Sub(lastChange) >= quietFor {
			return lastChange, true, nil
		}
		last = c
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return lastChange, false, nil
			}
			return lastChange, false, ctx.Err()
		case <-time.After(quietPoll):
		}
	}
}

// countMails counts the delivered invitation mails (.eml files; the store writes
// *.part first and renames, so a half-written mail is not counted).
func countMails(dir string) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	return len(names), err
}

// Mail drain bounds: the outbox worker polls at most every 10 s (the store's
// default), so a count unchanged for longer than that is final.
const (
	mailPoll        = 500 * time.Millisecond
	mailStableDone  = 3 * time.Second  // once every user has a mail
	mailStableStuck = 15 * time.Second // short of that: the outbox has stopped
	mailTimeout     = 10 * time.Minute
)

// waitMails polls the mail directory until the count is stable, and returns it.
func waitMails(ctx context.Context, dir string, users int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	last, err := countMails(dir)
	if err != nil {
		return 0, err
	}
	since := time.Now()
	for {
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("mails: count still changing (%d) when the time ran out", last)
		case <-time.After(mailPoll):
		}
		n, err := countMails(dir)
		if err != nil {
			return 0, err
		}
		if n != last {
			last, since = n, time.Now()
			continue
		}
		stable := time.Since(since)
		if (n >= users && stable >= mailStableDone) || stable >= mailStableStuck {
			return n, nil
		}
	}
}

// ListingResult is the store-listing phase.
type ListingResult struct {
	Users         int       `json:"users"`
	CreateSeconds float64   `json:"createSeconds"`
	Pages         int       `json:"pages"`
	Listed        int       `json:"listed"`
	PageMillis    []float64 `json:"pageMillis"`
	MedianMillis  float64   `json:"medianMillis"`
	MaxMillis     float64   `json:"maxMillis"`
	TotalSeconds  float64   `json:"totalSeconds"`
}

// Listing parameters: the store's largest page, and the writers filling it.
const (
	listPageSize    = 1000
	listWriters     = 16
	listCallTimeout = 30 * time.Second
)

// benchListing fills a fresh store with users through the Go client and times
// listing them all, page by page.
func benchListing(ctx context.Context, storeBin, dir string, users int, progress func(string)) (res ListingResult, err error) {
	res.Users = users
	st, err := startStore(ctx, storeBin, dir)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, stopProc(st.Proc)) }()
	c, err := storeclient.New(st.url, storeclient.Options{Token: st.token, Manager: "bench-e2e", UserAgent: "bench-e2e", Timeout: listCallTimeout})
	if err != nil {
		return res, err
	}
	caller := store.Caller{Manager: "bench-e2e"}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, listWriters)
	for range listWriters {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= users || ctx.Err() != nil {
					return
				}
				key := userName(i)
				if _, _, err := c.PutUser(ctx, caller, key, store.UserSpec{Email: UserEmail(key), DisplayName: "User " + key, Type: cascade.UserTypeUser}); err != nil {
					errs <- fmt.Errorf("put user %s: %w", key, err)
					return
				}
				if i > 0 && i%20000 == 0 && progress != nil {
					progress(fmt.Sprintf("listing: %d of %d users created", i, users))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	res.CreateSeconds = time.Since(start).Seconds()

	listStart := time.Now()
	f := store.UserFilter{Limit: listPageSize}
	for range users/listPageSize + 2 {
		t := time.Now()
		page, err := c.ListUsers(ctx, f)
		if err != nil {
			return res, fmt.Errorf("list users page %d: %w", res.Pages+1, err)
		}
		res.PageMillis = append(res.PageMillis, float64(time.Since(t).Microseconds())/1000)
		res.Pages++
		res.Listed += len(page.Items)
		if page.Next == nil {
			break
		}
		f.Cursor = *page.Next
	}
	res.TotalSeconds = time.Since(listStart).Seconds()
	res.MedianMillis, res.MaxMillis = medianMax(res.PageMillis)
	if res.Listed != users {
		return res, fmt.Errorf("listing returned %d users, want %d", res.Listed, users)
	}
	return res, nil
}

func medianMax(xs []float64) (median, maxV float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		median = s[len(s)/2]
	} else {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return median, s[len(s)-1]
}

// logSummary counts a manager log's JSON lines by level and its most frequent
// error and warning messages, for the raw numbers: what the manager complained about.
type logSummary struct {
	Lines    int            `json:"lines"`
	ByLevel  map[string]int `json:"byLevel"`
	Messages map[string]int `json:"messages,omitempty"` // "level: msg [error]"
}

// summarizeLog counts the lines of the log at path by level, and the warnings and
// errors by message; parse gives a line's level and message ("" level: "other").
func summarizeLog(path string, parse func(line string) (level, msg string)) (logSummary, error) {
	s := logSummary{ByLevel: map[string]int{}, Messages: map[string]int{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		s.Lines++
		level, msg := parse(line)
		if level == "" {
			level = "other"
		}
		s.ByLevel[level]++
		switch level {
		case "error", "warn", "dpanic", "panic":
			s.Messages[level+": "+truncate(stripNames(msg), 200)]++
		}
	}
	return s, nil
}

// managerLogLine parses controller-runtime's zap JSON lines.
func managerLogLine(line string) (level, msg string) {
	var e struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(line), &e) != nil {
		return "", ""
	}
	if e.Error != "" {
		e.Msg += " [" + e.Error + "]"
	}
	return e.Level, e.Msg
}

// storeLogLine parses the store's slog text lines (level=… msg=…).
func storeLogLine(line string) (level, msg string) {
	_, rest, ok := strings.Cut(line, "level=")
	if !ok {
		return "", ""
	}
	level = strings.ToLower(strings.Fields(rest + " ")[0])
	msg = line
	if _, m, ok := strings.Cut(line, "msg="); ok {
		msg = m
	}
	return level, msg
}

// stripNames turns object names that vary per line (u-00042, env-017, ab-003) into a
// placeholder, so that the same complaint about different objects counts as one.
func stripNames(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '"' || r == '/' || r == ',' || r == ':' })
	for _, f := range fields {
		if isGeneratedName(f) {
			s = strings.ReplaceAll(s, f, "<name>")
		}
	}
	return s
}

func isGeneratedName(f string) bool {
	for _, p := range []string{"u-", "env-", "ab-", "ag-"} {
		if strings.HasPrefix(f, p) && len(f) > len(p) && f[len(p)] >= '0' && f[len(p)] <= '9' {
			return true
		}
	}
	return false
}
