package sqlstore

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
