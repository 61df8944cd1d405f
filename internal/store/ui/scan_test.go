package ui

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
)

// openStore is a real SQL store on a SQLite file with n users u0000…, each with a grant
// in agency a, every third with an environment grant too, every fifth suspended.
func openStore(t *testing.T, n int) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "studio.db"), sqlstore.Options{PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := store.Caller{Actor: "test"}
	if _, _, err := st.PutAgency(ctx, c, "a", store.AgencySpec{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutEnvironment(ctx, c, "ns.e", store.EnvironmentSpec{Agency: "a"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		key := fmt.Sprintf("u%04d", i)
		spec := store.UserSpec{Email: key + "@example.com", DisplayName: fmt.Sprintf("User %d", i), Type: cascade.UserTypeUser, Locale: "en", Suspended: i%5 == 0}
		if _, _, err := st.PutUser(ctx, c, key, spec); err != nil {
			t.Fatal(err)
		}
		grants := []store.Grant{{Scope: store.Scope{Agency: "a"}, Roles: []cascade.Role{cascade.Analyst}}}
		if i%3 == 0 {
			grants = append(grants, store.Grant{Scope: store.Scope{Environment: "ns.e"}, Roles: []cascade.Role{cascade.Agent}})
		}
		if _, err := st.PutGrants(ctx, c, key, grants); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// walk follows a scan from the start to its end and returns every user key it kept.
func walk(t *testing.T, api store.API, s userScan) (keys []string, pages int) {
	t.Helper()
	pos := scanPosition{}
	for pages = 1; pages < 10000; pages++ {
		res, err := s.run(context.Background(), api, pos)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.users) > s.want {
			t.Fatalf("page %d has %d users, more than %d", pages, len(res.users), s.want)
		}
		if res.looked > s.budget {
			t.Fatalf("page %d looked at %d records, over the budget of %d", pages, res.looked, s.budget)
		}
		for _, u := range res.users {
			keys = append(keys, u.Key)
		}
		if res.next == nil {
			return keys, pages
		}
		// The position survives its trip through a URL.
		pos = decodePosition(res.next.encode())
	}
	t.Fatal("the scan did not end")
	return nil, 0
}

func TestUserScanVisitsEveryMatchOnce(t *testing.T) {
	st := openStore(t, 700)
	all, err := st.ListUsers(context.Background(), store.UserFilter{Limit: 400})
	if err != nil {
		t.Fatal(err)
	}
	rest, err := st.ListUsers(context.Background(), store.UserFilter{Limit: 1000, Cursor: *all.Next})
	if err != nil {
		t.Fatal(err)
	}
	everyone := append(all.Items, rest.Items...)
	expect := func(keep func(store.User) bool) []string {
		var out []string
		for _, u := range everyone {
			if keep(u) {
				out = append(out, u.Key)
			}
		}
		return out
	}
	suspended := func(_ context.Context, u store.User) (bool, error) { return u.State == store.UserSuspended, nil }
	rare := func(_ context.Context, u store.User) (bool, error) { return strings.HasSuffix(u.Key, "77"), nil }
	cases := map[string]struct {
		scan userScan
		want []string
	}{
		"no filter": {
			scan: userScan{want: 50, budget: 10000},
			want: expect(func(store.User) bool { return true }),
		},
		"store filter": {
			scan: userScan{filter: store.UserFilter{Environment: "ns.e"}, want: 50, budget: 10000},
			want: expect(func(u store.User) bool { var i int; fmt.Sscanf(u.Key, "u%d", &i); return i%3 == 0 }),
		},
		"filter here, pages end inside store pages": {
			scan: userScan{keep: suspended, want: 7, budget: 10000},
			want: expect(func(u store.User) bool { return u.State == store.UserSuspended }),
		},
		"filter here, several at a time": {
			scan: userScan{keep: suspended, want: 7, budget: 10000, batch: 40, readers: 3},
			want: expect(func(u store.User) bool { return u.State == store.UserSuspended }),
		},
		"rare matches, small budget: partial pages": {
			scan: userScan{keep: rare, want: 5, budget: 300},
			want: expect(func(u store.User) bool { return strings.HasSuffix(u.Key, "77") }),
		},
		"no match": {
			scan: userScan{keep: func(context.Context, store.User) (bool, error) { return false, nil }, want: 5, budget: 600},
			want: nil,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, _ := walk(t, st, tc.scan)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kept users (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodePositionRefusesJunk(t *testing.T) {
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, token := range []string{"", "!!!", raw("not-a-number"), raw("-1:x"), raw("99999:x")} {
		if p := decodePosition(token); p != (scanPosition{}) {
			t.Errorf("decodePosition(%q) = %+v, want the start", token, p)
		}
	}
	p := scanPosition{cursor: "abc", skip: 7}
	if got := decodePosition(p.encode()); got != p {
		t.Errorf("round trip: %+v, want %+v", got, p)
	}
}

// TestNewestAuditMatchesTheLogReversed pages through the log newest first, with and
// without filters, and compares with the same filter's log read forwards, reversed.
func TestNewestAuditMatchesTheLogReversed(t *testing.T) {
	st := openStore(t, 800)
	ctx := context.Background()
	forwards := func(f store.AuditFilter) []int64 {
		var seqs []int64
		for f.After, f.Limit = 0, 1000; ; {
			page, err := st.ListAudit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entries {
				seqs = append(seqs, e.Seq)
			}
			if page.Next == nil {
				return seqs
			}
			f.After = *page.Next
		}
	}
	for name, f := range map[string]store.AuditFilter{
		"everything":     {},
		"one user":       {User: "u0123"},
		"the first user": {User: "u0000"},
		"an environment": {Environment: "ns.e"},
		"an agency":      {Agency: "a"},
		"nobody":         {User: "nobody"},
	} {
		t.Run(name, func(t *testing.T) {
			want := forwards(f)
			slices.Reverse(want)
			if name != "nobody" && len(want) == 0 {
				t.Fatal("the filter matches nothing; the case tests nothing")
			}
			t.Logf("%d entries", len(want))
			sizes := []int{50, 173}
			if len(want) < 100 {
				sizes = append(sizes, 1, 7)
			}
			for _, n := range sizes {
				var got []int64
				before := int64(0)
				for range 10000 {
					entries, older, err := newestAudit(ctx, st, f, before, n)
					if err != nil {
						t.Fatal(err)
					}
					if len(entries) > n || (older != 0 && len(entries) != n) {
						t.Fatalf("page of %d entries for n=%d (older %d)", len(entries), n, older)
					}
					for _, e := range entries {
						got = append(got, e.Seq)
					}
					if older == 0 {
						break
					}
					before = older
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("n=%d (-want +got):\n%s", n, diff)
				}
			}
		})
	}
}
