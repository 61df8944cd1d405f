package sqlstore

import (
	"strings"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
)

// tokenOf extracts the token from an invitation link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	const prefix = "https://studio.example.test/invite/"
	if !strings.HasPrefix(link, prefix) {
		t.Fatalf("link does not start with %s", prefix)
	}
	return strings.TrimPrefix(link, prefix)
}

func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.writer.QueryRowContext(bg, s.d.q(query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestAcceptInvitation(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, clock *conformance.Clock) {
		seed(t, s)
		inv, err := s.SendInvitation(bg, testCaller, "alice", "")
		if err != nil {
			t.Fatal(err)
		}
		token := tokenOf(t, inv.Link)

		view, err := s.LookupInvitation(bg, token)
		if err != nil {
			t.Fatal(err)
		}
		want := store.InvitationView{DisplayName: "Alice", Agencies: []string{"Acme Corp"}, State: store.InvitationPending, ExpiresAt: conformance.Start.Add(time.Hour)}
		if view.DisplayName != want.DisplayName || strings.Join(view.Agencies, ",") != "Acme Corp" || view.State != want.State || !view.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("LookupInvitation = %+v, want %+v", view, want)
		}

		clock.Advance(time.Minute)
		u, err := s.AcceptInvitation(bg, token)
		if err != nil {
			t.Fatal(err)
		}
		if u.State != store.UserActive || u.LastActiveAt == nil || !u.LastActiveAt.Equal(conformance.Start.Add(time.Minute)) {
			t.Fatalf("accepted user = %+v; want Active with lastActiveAt", u)
		}
		if got, _ := s.GetInvitation(bg, "alice"); got.State != store.InvitationAccepted {
			t.Fatalf("invitation after accepting = %+v", got)
		}
		page, _ := s.ListAudit(bg, store.AuditFilter{User: "alice"})
		last := page.Entries[len(page.Entries)-1]
		if last.Action != store.ActionInvitationAccepted || last.Actor != "user/alice" {
			t.Fatalf("last audit entry = %+v; want invitation.accepted by user/alice", last)
		}

		_, err = s.AcceptInvitation(bg, token)
		expectStoreCode(t, err, store.CodeInvitationGone)
		_, err = s.LookupInvitation(bg, token)
		expectStoreCode(t, err, store.CodeInvitationGone)
		_, err = s.LookupInvitation(bg, "no-such-token")
		expectStoreCode(t, err, store.CodeNotFound)
		_, err = s.AcceptInvitation(bg, "no-such-token")
		expectStoreCode(t, err, store.CodeNotFound)
	})
}

func TestInvitationLinksThatNoLongerWork(t *testing.T) {
	for name, tc := range map[string]func(t *testing.T, s *Store, clock *conformance.Clock){
		"replaced": func(t *testing.T, s *Store, _ *conformance.Clock) {
			if _, err := s.SendInvitation(bg, testCaller, "alice", ""); err != nil {
				t.Fatal(err)
			}
		},
		"expired": func(t *testing.T, _ *Store, clock *conformance.Clock) { clock.Advance(time.Hour) },
		"withdrawn": func(t *testing.T, s *Store, _ *conformance.Clock) {
			if _, err := s.RemoveUser(bg, testCaller, "alice"); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, s *Store, clock *conformance.Clock) {
				seed(t, s)
				inv, err := s.SendInvitation(bg, testCaller, "alice", "")
				if err != nil {
					t.Fatal(err)
				}
				tc(t, s, clock)
				token := tokenOf(t, inv.Link)
				_, err = s.LookupInvitation(bg, token)
				expectStoreCode(t, err, store.CodeInvitationGone)
				_, err = s.AcceptInvitation(bg, token)
				expectStoreCode(t, err, store.CodeInvitationGone)
			})
		})
	}
}

func TestInvitationMailGoesToTheOutboxOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		seed(t, s)
		inv, err := s.SendInvitation(bg, testCaller, "alice", "uid/0")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendInvitation(bg, testCaller, "alice", "uid/0"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM outbox"); n != 1 {
			t.Fatalf("outbox has %d messages after a send and its replay, want 1", n)
		}
		msgs, err := s.ClaimOutbox(bg, conformance.Start, 10, time.Minute)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("ClaimOutbox = %d messages, %v", len(msgs), err)
		}
		m := msgs[0]
		if m.To != "alice@example.com" || !strings.Contains(m.Text, inv.Link) || !strings.Contains(m.Text, "Support bot") ||
			!strings.Contains(m.Subject, "Acme Corp") || !strings.HasSuffix(m.MessageID, "@studio.example.test>") {
			t.Fatalf("outbox message = %+v; want the invitation to alice with the link, access and a Message-ID", m)
		}
		// The token itself is not stored anywhere but in the mail being delivered.
		token := tokenOf(t, inv.Link)
		if n := count(t, s, "SELECT COUNT(*) FROM invitations WHERE id = ? OR token_hash = ? OR idempotency_key = ?", token, token, token); n != 0 {
			t.Fatal("the invitations table holds the token")
		}
	})
}

func TestInvitationLinkSurvivesReopening(t *testing.T) {
	dsn := "sqlite://" + t.TempDir() + "/studio.db"
	opts := Options{PublicURL: "https://studio.example.test"}
	s := openTest(t, dsn, opts)
	seed(t, s)
	inv, err := s.SendInvitation(bg, testCaller, "alice", "uid/0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dsn, opts)
	again, err := s.SendInvitation(bg, testCaller, "alice", "uid/0")
	if err != nil || again.Link != inv.Link {
		t.Fatalf("replay after reopening: same link %v, %v; the link key must persist", again.Link == inv.Link, err)
	}
	if _, err := s.LookupInvitation(bg, tokenOf(t, inv.Link)); err != nil {
		t.Fatalf("link after reopening: %v", err)
	}
	// A configured key takes precedence: links of the persisted key stop working.
	other := openTest(t, dsn, Options{PublicURL: opts.PublicURL, LinkKey: []byte("another key")})
	replay, err := other.SendInvitation(bg, testCaller, "alice", "uid/0")
	if err != nil || replay.Link == inv.Link {
		t.Fatalf("replay with another key: same link %v, %v", replay.Link == inv.Link, err)
	}
}

func expectStoreCode(t *testing.T, err error, code store.Code) {
	t.Helper()
	if store.CodeOf(err) != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}
