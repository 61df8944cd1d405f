package sqlstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// chain builds n valid rows.
func chain(t *testing.T, n int) []chainRow {
	t.Helper()
	var rows []chainRow
	prev := ""
	for i := 1; i <= n; i++ {
		r := chainRow{Seq: int64(i), At: time.Unix(int64(1000+i), 0).UTC(), Actor: "op", Action: "user.created",
			Target: "user/u", Details: `{"n":` + string(rune('0'+i%10)) + `}`, PrevHash: prev}
		h, err := r.computedHash()
		if err != nil {
			t.Fatal(err)
		}
		r.Hash, prev = h, h
		rows = append(rows, r)
	}
	return rows
}

func TestChainHashIsSHA256OfPrevAndCanonicalJSON(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 600000000, time.UTC)
	got, err := chainHash("abc", 7, at, "op", "argocd:x", "StudioUser//u@1", "grant.added", "user/u", `{"role":"Agent"}`)
	if err != nil {
		t.Fatal(err)
	}
	canonical := `{"seq":7,"time":"2030-01-02T03:04:05.6Z","actor":"op","onBehalfOf":"argocd:x","source":"StudioUser//u@1",` +
		`"action":"grant.added","target":"user/u","details":{"role":"Agent"}}`
	sum := sha256.Sum256([]byte("abc" + canonical))
	if want := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("chainHash = %s, want sha256(prev || canonical JSON) = %s", got, want)
	}
}

func TestChainVerifier(t *testing.T) {
	type result struct {
		OK       bool
		Entries  int64
		FirstBad int64
		Problem  string
	}
	for name, tc := range map[string]struct {
		tamper func(rows []chainRow) []chainRow
		head   func(rows []chainRow) (int64, string)
		want   result
	}{
		"intact": {want: result{OK: true, Entries: 5}},
		"edited details": {
			tamper: func(r []chainRow) []chainRow { r[2].Details = `{"n":9}`; return r },
			want:   result{Entries: 5, FirstBad: 3, Problem: ProblemEdited},
		},
		"edited actor and rehashed": {
			tamper: func(r []chainRow) []chainRow {
				r[1].Actor = "mallory"
				r[1].Hash, _ = r[1].computedHash()
				return r
			},
			// Entry 2 now verifies on its own; entry 3 no longer follows it.
			want: result{Entries: 5, FirstBad: 3, Problem: ProblemMissing},
		},
		"deleted in the middle": {
			tamper: func(r []chainRow) []chainRow { return append(r[:2:2], r[3:]...) },
			want:   result{Entries: 4, FirstBad: 3, Problem: ProblemMissing},
		},
		"deleted at the end": {
			tamper: func(r []chainRow) []chainRow { return r[:4] },
			want:   result{Entries: 4, FirstBad: 5, Problem: ProblemMissing},
		},
		"renumbered after a deletion": {
			tamper: func(r []chainRow) []chainRow {
				r = append(r[:2:2], r[3:]...)
				for i := range r {
					r[i].Seq = int64(i + 1)
				}
				return r
			},
			head: func(r []chainRow) (int64, string) { return 4, r[3].Hash },
			// Closing the gap rewrote seq, which the hash covers.
			want: result{Entries: 4, FirstBad: 3, Problem: ProblemEdited},
		},
		"swapped seqs": {
			tamper: func(r []chainRow) []chainRow {
				r[1].Seq, r[2].Seq = r[2].Seq, r[1].Seq
				r[1], r[2] = r[2], r[1]
				return r
			},
			want: result{Entries: 5, FirstBad: 2, Problem: ProblemReordered},
		},
		"row appended outside the store": {
			tamper: func(r []chainRow) []chainRow {
				extra := chainRow{Seq: 6, Action: "user.created", Details: "{}", PrevHash: r[4].Hash}
				extra.Hash, _ = extra.computedHash()
				return append(r, extra)
			},
			head: func(r []chainRow) (int64, string) { return 5, r[4].Hash },
			want: result{Entries: 6, FirstBad: 6, Problem: ProblemEdited},
		},
		"details not JSON": {
			tamper: func(r []chainRow) []chainRow { r[0].Details = "{"; return r },
			want:   result{Entries: 5, FirstBad: 1, Problem: ProblemEdited},
		},
	} {
		t.Run(name, func(t *testing.T) {
			rows := chain(t, 5)
			headSeq, headHash := rows[4].Seq, rows[4].Hash
			if tc.tamper != nil {
				rows = tc.tamper(rows)
			}
			if tc.head != nil {
				headSeq, headHash = tc.head(rows)
			}
			hashes := map[string]bool{}
			for _, r := range rows {
				hashes[r.Hash] = true
			}
			v := &chainVerifier{hashExists: func(h string) (bool, error) { return hashes[h], nil }}
			for _, r := range rows {
				if err := v.add(r); err != nil {
					t.Fatal(err)
				}
			}
			v.finish(headSeq, headHash)
			got := result{OK: v.firstBad == nil, Entries: v.entries, Problem: v.problem}
			if v.firstBad != nil {
				got.FirstBad = *v.firstBad
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("verification (-want +got):\n%s", d)
			}
		})
	}
}

// referenceChainHash is the definition: sha256 over prev and json.Marshal of the
// fields. chainHash skips reflection for plain entries and must agree byte for byte.
func referenceChainHash(prev string, seq int64, at time.Time, actor, onBehalfOf, source, action, target, details string) (string, error) {
	b, err := json.Marshal(chainFields{Seq: seq, Time: at.UTC().Format(time.RFC3339Nano), Actor: actor, OnBehalfOf: onBehalfOf,
		Source: source, Action: action, Target: target, Details: json.RawMessage(details)})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append([]byte(prev), b...))
	return hex.EncodeToString(sum[:]), nil
}

func TestChainHashAgreesWithMarshal(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 600000000, time.FixedZone("x", 3600))
	for name, tc := range map[string]struct {
		actor, target, details string
		wantErr                bool
	}{
		"plain":                          {actor: "operator", target: "user/alice", details: `{"role":"Agent","scope":{"environment":"team-a.prod"}}`},
		"empty details object":           {actor: "op", target: "user/u", details: `{}`},
		"quote in actor":                 {actor: `op"x`, target: "user/u", details: `{}`},
		"backslash in target":            {actor: "op", target: `user/a\b`, details: `{}`},
		"html in actor":                  {actor: "<script>&", target: "user/u", details: `{}`},
		"unicode in actor":               {actor: "opérateur", target: "user/u", details: `{}`},
		"line separator in target":       {actor: "op", target: "user/\u2028", details: `{}`},
		"invalid utf-8 in actor":         {actor: "op\xff", target: "user/u", details: `{}`},
		"control in actor":               {actor: "op\n\t\x01", target: "user/u", details: `{}`},
		"details with spaces":            {actor: "op", target: "user/u", details: `{ "a" : [1, 2] }`},
		"details with space in a string": {actor: "op", target: "user/u", details: `{"a":"b c"}`},
		"details with html":              {actor: "op", target: "user/u", details: `{"a":"<b>&"}`},
		"details with escapes":           {actor: "op", target: "user/u", details: `{"a":"\u003c\n\"x\""}`},
		"details with unicode":           {actor: "op", target: "user/u", details: `{"a":"é\u2028"}`},
		"details not json":               {actor: "op", target: "user/u", details: `{"a":`, wantErr: true},
		"details two values":             {actor: "op", target: "user/u", details: `{}{}`, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := chainHash("prev", 42, at, tc.actor, "argocd:app", "StudioUser//u@1", "grant.added", tc.target, tc.details)
			want, wantErr := referenceChainHash("prev", 42, at, tc.actor, "argocd:app", "StudioUser//u@1", "grant.added", tc.target, tc.details)
			if (err != nil) != tc.wantErr || (wantErr != nil) != tc.wantErr {
				t.Fatalf("errors: chainHash %v, reference %v; want error %v", err, wantErr, tc.wantErr)
			}
			if got != want {
				t.Fatalf("chainHash = %s, json.Marshal gives %s", got, want)
			}
		})
	}
}

func FuzzChainHashAgreesWithMarshal(f *testing.F) {
	f.Add("operator", "user/alice", `{"role":"Agent"}`)
	f.Add("<&>", "user/\u2028", `{"a": "b"}`)
	f.Fuzz(func(t *testing.T, actor, target, details string) {
		at := time.Unix(1700000000, 123456000)
		got, err := chainHash("p", 1, at, actor, "", "", "a", target, details)
		want, wantErr := referenceChainHash("p", 1, at, actor, "", "", "a", target, details)
		if (err != nil) != (wantErr != nil) || got != want {
			t.Fatalf("chainHash = %q, %v; json.Marshal gives %q, %v", got, err, want, wantErr)
		}
	})
}

func TestMarshalDetailsAgreesWithMarshal(t *testing.T) {
	for name, details := range map[string]map[string]any{
		"grant role":      grantChange{Scope: store.Scope{Environment: "team-a.prod"}, Role: cascade.Agent, Added: true}.auditDetails(),
		"grant block":     grantChange{Scope: store.Scope{Agency: "acme"}}.auditDetails(),
		"counts":          {"kind": "grants", "changes": 3},
		"flags":           {"suspended": true, "x": false},
		"html in a value": {"manager": "<op&1>"},
		"quote in a key":  {`a"b`: "c"},
		"unicode":         {"name": "Zoë\u2028"},
		"list":            {"fields": []string{"email", "locale"}},
		"nested":          {"a": map[string]any{"z": 1, "b": map[string]any{"c": "d"}}},
		"float":           {"f": 1.5},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := marshalDetails(details)
			want, wantErr := json.Marshal(details)
			if err != nil || wantErr != nil || got != string(want) {
				t.Fatalf("marshalDetails = %s, %v; json.Marshal gives %s, %v", got, err, want, wantErr)
			}
		})
	}
	if got, err := marshalDetails(nil); got != "{}" || err != nil {
		t.Fatalf("marshalDetails(nil) = %q, %v; want {}", got, err)
	}
}
