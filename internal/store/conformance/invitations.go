package conformance

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

var invitationCases = []testCase{
	{"SendInvitation", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.grants(operator, "alice", envGrant("team-a.prod", cascade.Agent))
		none, err := h.api.GetInvitation(h.ctx, "alice")
		if err != nil || none.State != store.InvitationNotSent || none.SendCount != 0 {
			h.t.Fatalf("invitation before sending = %+v, %v; want NotSent", none, err)
		}
		var inv store.Invitation
		added := h.newActions(func() { inv, err = h.api.SendInvitation(h.ctx, operator, "alice", "") })
		if err != nil {
			h.t.Fatal(err)
		}
		if inv.State != store.InvitationPending || inv.SendCount != 1 || inv.SentAt == nil || !inv.SentAt.Equal(Start) ||
			inv.ExpiresAt == nil || !inv.ExpiresAt.Equal(Start.Add(TTL)) {
			h.t.Fatalf("sent invitation = %+v", inv)
		}
		prefix := PublicURL + "/invite/"
		if !strings.HasPrefix(inv.Link, prefix) || len(inv.Link) < len(prefix)+20 {
			h.t.Fatalf("link does not look like %s<token>", prefix)
		}
		diff(h.t, "audit of the invitation", []string{store.ActionInvitationSent}, added)
		got, err := h.api.GetInvitation(h.ctx, "alice")
		if err != nil {
			h.t.Fatal(err)
		}
		if got.Link != "" {
			h.t.Fatal("GetInvitation returned the link")
		}
		want := inv
		want.Link = ""
		diff(h.t, "GetInvitation", want, got)

		// A re-send replaces the link.
		h.clock.Advance(time.Minute)
		second, err := h.api.SendInvitation(h.ctx, operator, "alice", "")
		if err != nil || second.SendCount != 2 || second.Link == inv.Link || !second.SentAt.Equal(Start.Add(time.Minute)) {
			h.t.Fatalf("re-send: count %d, same link %v, err %v", second.SendCount, second.Link == inv.Link, err)
		}
		_, err = h.api.SendInvitation(h.ctx, operator, "nobody", "")
		expectError(h.t, err, store.CodeNotFound, "")
	}},
	{"InvitationIdempotencyKey", func(h *harness) {
		h.user(operator, "alice", "alice@example.com")
		first, err := h.api.SendInvitation(h.ctx, operator, "alice", "uid-1/0")
		if err != nil {
			h.t.Fatal(err)
		}
		h.clock.Advance(time.Minute)
		var again store.Invitation
		added := h.newActions(func() { again, err = h.api.SendInvitation(h.ctx, operator, "alice", "uid-1/0") })
		if err != nil {
			h.t.Fatal(err)
		}
		diff(h.t, "replayed invitation", first, again)
		if len(added) != 0 {
			h.t.Fatalf("replay audited %v; want nothing (no second email)", added)
		}
		next, err := h.api.SendInvitation(h.ctx, operator, "alice", "uid-1/1")
		if err != nil || next.Link == first.Link || next.SendCount != 2 {
			h.t.Fatalf("new key: count %d, same link %v, err %v; want a new invitation", next.SendCount, next.Link == first.Link, err)
		}
		if n := countOf(h.actions(store.AuditFilter{User: "alice"}), store.ActionInvitationSent); n != 2 {
			h.t.Fatalf("invitation.sent entries = %d, want 2", n)
		}
	}},
	{"InvitationExpires", func(h *harness) {
		h.user(operator, "alice", "alice@example.com")
		if _, err := h.api.SendInvitation(h.ctx, operator, "alice", ""); err != nil {
			h.t.Fatal(err)
		}
		h.clock.Advance(TTL - time.Second)
		if inv, err := h.api.GetInvitation(h.ctx, "alice"); err != nil || inv.State != store.InvitationPending {
			h.t.Fatalf("just before expiry = %+v, %v; want Pending", inv, err)
		}
		h.clock.Advance(time.Second)
		if inv, err := h.api.GetInvitation(h.ctx, "alice"); err != nil || inv.State != store.InvitationExpired {
			h.t.Fatalf("at expiry = %+v, %v; want Expired", inv, err)
		}
		inv, err := h.api.SendInvitation(h.ctx, operator, "alice", "")
		if err != nil || inv.State != store.InvitationPending || !inv.ExpiresAt.Equal(h.clock.Now().Add(TTL)) {
			h.t.Fatalf("re-send after expiry = %+v, %v", inv, err)
		}
	}},
	{"AuditHoldsNoSecrets", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst))
		inv, err := h.api.SendInvitation(h.ctx, operator, "alice", "k")
		if err != nil {
			h.t.Fatal(err)
		}
		token := inv.Link[strings.LastIndex(inv.Link, "/")+1:]
		if _, err := h.api.RemoveUser(h.ctx, operator, "alice"); err != nil {
			h.t.Fatal(err)
		}
		b, err := json.Marshal(h.audit(store.AuditFilter{}))
		if err != nil {
			h.t.Fatal(err)
		}
		for what, secret := range map[string]string{"token": token, "email": "alice@example.com"} {
			if strings.Contains(string(b), secret) {
				h.t.Fatalf("the audit log holds the %s", what)
			}
		}
	}},
}
