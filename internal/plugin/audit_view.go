package plugin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

const errSince = "invalid --since %q: want a duration such as 1h or 30m, or an RFC3339 time such as 2026-01-02T15:04:05Z"

// ParseSince reads --since: a duration back from now, or an RFC3339 time. Empty
// means the beginning of time (zero).
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf(errSince, s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf(errSince, s)
	}
	return t, nil
}

// AuditTail keeps the last limit entries (all when limit is 0) of those at or after
// since, in order; it is fed page by page so a long log is never held in full.
type AuditTail struct {
	since   time.Time
	limit   int
	entries []store.AuditEntry
}

// NewAuditTail returns an empty tail.
func NewAuditTail(since time.Time, limit int) *AuditTail {
	return &AuditTail{since: since, limit: limit, entries: []store.AuditEntry{}}
}

// Add takes the next entries, in seq order.
func (t *AuditTail) Add(entries []store.AuditEntry) {
	for _, e := range entries {
		if e.Time.Before(t.since) {
			continue
		}
		t.entries = append(t.entries, e)
		if t.limit > 0 && len(t.entries) > 2*t.limit {
			// Drop the oldest in batches rather than one by one.
			t.entries = append(t.entries[:0], t.entries[len(t.entries)-t.limit:]...)
		}
	}
}

// Entries returns the kept entries, oldest first.
func (t *AuditTail) Entries() []store.AuditEntry {
	if t.limit > 0 && len(t.entries) > t.limit {
		return t.entries[len(t.entries)-t.limit:]
	}
	return t.entries
}

// AuditTable shows one row per entry; wide adds the source object and the details.
func AuditTable(entries []store.AuditEntry, wide bool) Table {
	t := Table{Header: []string{"SEQ", "TIME", "ACTOR", "ON BEHALF OF", "ACTION", "TARGET"}}
	if wide {
		t.Header = append(t.Header, "SOURCE", "DETAILS")
	}
	for _, e := range entries {
		row := []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339), e.Actor, e.OnBehalfOf, e.Action, e.Target}
		if wide {
			row = append(row, e.Source, details(e.Details))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// details prints an entry's details as compact JSON (keys sorted); the store never
// puts secrets there.
func details(d map[string]any) string {
	if len(d) == 0 {
		return ""
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Sprint(d)
	}
	return string(b)
}
