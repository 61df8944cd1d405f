package plugin

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
)

func TestParseSince(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		"empty is everything": {in: "", want: time.Time{}},
		"duration":            {in: "90m", want: now.Add(-90 * time.Minute)},
		"RFC3339":             {in: "2026-02-27T08:00:00+01:00", want: time.Date(2026, 2, 27, 7, 0, 0, 0, time.UTC)},
		"negative duration":   {in: "-1h", wantErr: true},
		"days are not Go":     {in: "2d", wantErr: true},
		"date without time":   {in: "2026-02-27", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSince(tc.in, now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAuditTail(t *testing.T) {
	entry := func(seq int64, minutesAgo int) store.AuditEntry {
		return store.AuditEntry{Seq: seq, Time: now.Add(-time.Duration(minutesAgo) * time.Minute)}
	}
	var log []store.AuditEntry
	for i := range 10 {
		log = append(log, entry(int64(i+1), 100-10*i)) // seq 1 at 100m ago ... seq 10 at 10m ago
	}
	seqs := func(es []store.AuditEntry) []int64 {
		out := []int64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	cases := map[string]struct {
		since time.Time
		limit int
		pages [][]store.AuditEntry
		want  []int64
	}{
		"everything":              {pages: [][]store.AuditEntry{log[:4], log[4:]}, want: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		"last three across pages": {limit: 3, pages: [][]store.AuditEntry{log[:2], log[2:5], log[5:]}, want: []int64{8, 9, 10}},
		"since":                   {since: now.Add(-35 * time.Minute), pages: [][]store.AuditEntry{log}, want: []int64{8, 9, 10}},
		"since and limit":         {since: now.Add(-55 * time.Minute), limit: 2, pages: [][]store.AuditEntry{log[:7], log[7:]}, want: []int64{9, 10}},
		"limit above count":       {limit: 50, pages: [][]store.AuditEntry{log[8:]}, want: []int64{9, 10}},
		"nothing":                 {limit: 5, want: []int64{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tail := NewAuditTail(tc.since, tc.limit)
			for _, p := range tc.pages {
				tail.Add(p)
			}
			if diff := cmp.Diff(tc.want, seqs(tail.Entries())); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuditTable(t *testing.T) {
	entries := []store.AuditEntry{{
		Seq: 7, Time: time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600)),
		Actor: "operator", OnBehalfOf: "argocd:studio-users", Source: "RoleBinding/acme/analysts@2",
		Action: "grant.added", Target: "ana", Details: map[string]any{"scope": "agency:acme", "role": "Analyst"},
	}}
	cases := map[string]struct {
		wide bool
		want Table
	}{
		"default": {want: Table{
			Header: []string{"SEQ", "TIME", "ACTOR", "ON BEHALF OF", "ACTION", "TARGET"},
			Rows:   [][]string{{"7", "2026-03-01T12:00:00Z", "operator", "argocd:studio-users", "grant.added", "ana"}},
		}},
		"wide": {wide: true, want: Table{
			Header: []string{"SEQ", "TIME", "ACTOR", "ON BEHALF OF", "ACTION", "TARGET", "SOURCE", "DETAILS"},
			Rows:   [][]string{{"7", "2026-03-01T12:00:00Z", "operator", "argocd:studio-users", "grant.added", "ana", "RoleBinding/acme/analysts@2", `{"role":"Analyst","scope":"agency:acme"}`}},
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, AuditTable(entries, tc.wide)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
