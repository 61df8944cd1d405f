package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Delivery errors as the mail worker records them (mail.Reason), each with the
// recipient's address and a link in its text: none of it may reach a reply class.
const (
	reasonRejected = "permanent (smtp 550): 5.1.1 <%s>: Recipient address rejected; see " + PublicURL + "/invite/secret-token"
	reasonLater    = "temporary (smtp 421): 4.7.0 <%s> try again later"
	reasonRefused  = "temporary (network): dial tcp 192.0.2.1:25: connect: connection refused (for %s)"
	reasonInvalid  = "invalid (error): mail: no valid recipient in %q"
)

// mailResult is what becomes of a mail the harness settles.
type mailResult struct {
	// reason is the delivery error, a format with the recipient's address as its
	// argument; empty for a delivered mail.
	reason string
	// final dead-letters a failed mail (FailOutbox); otherwise it is retried
	// (RetryOutbox), due again at once.
	final bool
}

var delivered = mailResult{}

func deadLettered(reason string) mailResult { return mailResult{reason: reason, final: true} }

func retried(reason string) mailResult { return mailResult{reason: reason} }

// outbox is the mail queue of the store under test, which the delivery cases work as
// a mail worker would. The store.API under test must implement store.Outbox as well:
// the SQL store does, and a client of it over the wire adds the outbox of the store
// behind it.
func (h *harness) outbox() store.Outbox {
	h.t.Helper()
	o, ok := h.api.(store.Outbox)
	if !ok {
		h.t.Fatalf("the store under test (%T) does not implement store.Outbox, which the delivery cases need", h.api)
	}
	return o
}

// settleMail claims every mail due now and settles each as results says for its
// recipient. Every due mail must have a result, and every result a due mail.
func (h *harness) settleMail(results map[string]mailResult) {
	h.t.Helper()
	o := h.outbox()
	now := h.clock.Now()
	msgs, err := o.ClaimOutbox(h.ctx, now, 100, time.Minute)
	if err != nil {
		h.t.Fatalf("ClaimOutbox: %v", err)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		res, ok := results[m.To]
		if !ok {
			h.t.Fatalf("a mail to %s is due, which the test did not expect", m.To)
		}
		if seen[m.To] {
			h.t.Fatalf("two mails to %s are due", m.To)
		}
		seen[m.To] = true
		reason := ""
		if res.reason != "" {
			reason = fmt.Sprintf(res.reason, m.To)
		}
		switch {
		case res.reason == "":
			err = o.CompleteOutbox(h.ctx, m.ID, now)
		case res.final:
			err = o.FailOutbox(h.ctx, m.ID, now, reason)
		default:
			err = o.RetryOutbox(h.ctx, m.ID, now, reason)
		}
		if err != nil {
			h.t.Fatalf("settling the mail to %s: %v", m.To, err)
		}
	}
	for to := range results {
		if !seen[to] {
			h.t.Fatalf("no mail to %s was due", to)
		}
	}
}

// invite sends key's invitation, failing the test on error.
func (h *harness) invite(key string) store.Invitation {
	h.t.Helper()
	inv, err := h.api.SendInvitation(h.ctx, operator, key, "")
	if err != nil {
		h.t.Fatalf("SendInvitation(%s): %v", key, err)
	}
	return inv
}

// delivery is key's invitation's delivery, as GetInvitation reports it.
func (h *harness) delivery(key string) *store.InvitationDelivery {
	h.t.Helper()
	inv, err := h.api.GetInvitation(h.ctx, key)
	if err != nil {
		h.t.Fatalf("GetInvitation(%s): %v", key, err)
	}
	return inv.Delivery
}

// undeliverable pages through ListUndeliverable with limit and returns every item
// and the number of pages.
func (h *harness) undeliverable(limit int) ([]store.UndeliverableInvitation, int) {
	h.t.Helper()
	out := []store.UndeliverableInvitation{}
	f := store.UndeliverableFilter{Limit: limit}
	for pages := 1; pages <= 1000; pages++ {
		page, err := h.api.ListUndeliverable(h.ctx, f)
		if err != nil {
			h.t.Fatalf("ListUndeliverable: %v", err)
		}
		if page.Items == nil {
			h.t.Fatalf("page %d has items nil, want a list", pages)
		}
		if limit > 0 && len(page.Items) > limit {
			h.t.Fatalf("page %d has %d items, limit %d", pages, len(page.Items), limit)
		}
		out = append(out, page.Items...)
		if page.Next == nil {
			return out, pages
		}
		f.Cursor = *page.Next
	}
	h.t.Fatal("ListUndeliverable never reached the last page")
	return nil, 0
}

// noSecrets fails the test when v, as JSON, holds an address, a link or a part of a
// mail server's reply.
func (h *harness) noSecrets(what string, v any) {
	h.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, s := range []string{"@", "example.com", "/invite/", "secret-token", "Recipient", "192.0.2.1", "recipient in"} {
		if strings.Contains(string(b), s) {
			h.t.Fatalf("%s holds %q: %s", what, s, b)
		}
	}
}

// deliveryCases cover how the store reports the delivery of invitation mail: the
// delivery of an invitation and the listing of undeliverable invitations.
var deliveryCases = []testCase{
	{"InvitationDeliveryStates", func(h *harness) {
		for _, k := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
			h.user(operator, k, k+"@example.com")
		}
		if d := h.delivery("alice"); d != nil {
			h.t.Fatalf("delivery before sending = %+v, want none", d)
		}
		sent := h.invite("alice")
		queued := &store.InvitationDelivery{State: store.DeliveryQueued}
		diff(h.t, "delivery in the SendInvitation answer", queued, sent.Delivery)
		diff(h.t, "delivery of a new invitation", queued, h.delivery("alice"))
		for _, k := range []string{"bob", "carol", "dave", "erin", "frank"} {
			h.invite(k)
		}

		// One attempt each: delivered, dead-lettered for several reasons, retried.
		h.settleMail(map[string]mailResult{
			"alice@example.com": delivered,
			"bob@example.com":   deadLettered(reasonRejected),
			"carol@example.com": deadLettered(reasonInvalid),
			"dave@example.com":  deadLettered(reasonRefused),
			"erin@example.com":  retried(reasonLater),
			"frank@example.com": retried(reasonLater),
		})
		want := map[string]*store.InvitationDelivery{
			"alice": {State: store.DeliveryDelivered, Attempts: 1},
			"bob":   {State: store.DeliveryFailed, Attempts: 1, ReplyClass: "5xx permanent"},
			"carol": {State: store.DeliveryFailed, Attempts: 1, ReplyClass: "invalid"},
			"dave":  {State: store.DeliveryFailed, Attempts: 1, ReplyClass: "network temporary"},
			"erin":  {State: store.DeliveryQueued, Attempts: 1, ReplyClass: "4xx temporary"},
			"frank": {State: store.DeliveryQueued, Attempts: 1, ReplyClass: "4xx temporary"},
		}
		for k, w := range want {
			diff(h.t, "delivery of "+k+" after one attempt", w, h.delivery(k))
		}

		// The second attempts: erin's mail gets through, frank's is given up on. A
		// dead-lettered or delivered mail is never claimed again.
		h.clock.Advance(time.Minute)
		h.settleMail(map[string]mailResult{
			"erin@example.com":  delivered,
			"frank@example.com": deadLettered(reasonRejected),
		})
		want["erin"] = &store.InvitationDelivery{State: store.DeliveryDelivered, Attempts: 2}
		want["frank"] = &store.InvitationDelivery{State: store.DeliveryFailed, Attempts: 2, ReplyClass: "5xx permanent"}
		for k, w := range want {
			inv, err := h.api.GetInvitation(h.ctx, k)
			if err != nil {
				h.t.Fatal(err)
			}
			diff(h.t, "delivery of "+k, w, inv.Delivery)
			h.noSecrets("the invitation of "+k, inv)
		}
		h.settleMail(map[string]mailResult{})

		// A re-send is a new mail, queued; an idempotent replay reports the delivery
		// of the replayed invitation as it is now.
		again, err := h.api.SendInvitation(h.ctx, operator, "bob", "")
		if err != nil {
			h.t.Fatal(err)
		}
		diff(h.t, "delivery of bob's new invitation", queued, again.Delivery)
		replay, err := h.api.SendInvitation(h.ctx, operator, "carol", "k1")
		if err != nil {
			h.t.Fatal(err)
		}
		h.settleMail(map[string]mailResult{"bob@example.com": delivered, "carol@example.com": deadLettered(reasonRejected)})
		replayed, err := h.api.SendInvitation(h.ctx, operator, "carol", "k1")
		if err != nil {
			h.t.Fatal(err)
		}
		if replayed.Link != replay.Link || replayed.SendCount != 2 {
			h.t.Fatalf("replay = count %d, same link %v; want the same invitation", replayed.SendCount, replayed.Link == replay.Link)
		}
		diff(h.t, "delivery in a replayed answer",
			&store.InvitationDelivery{State: store.DeliveryFailed, Attempts: 1, ReplyClass: "5xx permanent"}, replayed.Delivery)
		diff(h.t, "delivery of bob's delivered re-send", &store.InvitationDelivery{State: store.DeliveryDelivered, Attempts: 1}, h.delivery("bob"))

		// Removing the user withdraws the invitation; its delivery stays as it was.
		if _, err := h.api.RemoveUser(h.ctx, operator, "dave"); err != nil {
			h.t.Fatal(err)
		}
		inv, err := h.api.GetInvitation(h.ctx, "dave")
		if err != nil || inv.State != store.InvitationWithdrawn {
			h.t.Fatalf("invitation of a removed user = %+v, %v; want Withdrawn", inv, err)
		}
		diff(h.t, "delivery of a withdrawn invitation", want["dave"], inv.Delivery)
	}},
	{"ListUndeliverablePages", func(h *harness) {
		page, err := h.api.ListUndeliverable(h.ctx, store.UndeliverableFilter{})
		if err != nil || page.Items == nil || len(page.Items) != 0 || page.Next != nil {
			h.t.Fatalf("ListUndeliverable on an empty store = %+v, %v; want items [] and no next", page, err)
		}
		// Keys that are prefixes of each other bound a page's key range exactly.
		failed := []string{"a", "ab", "abc", "user-1", "user-10", "user-2"}
		others := []string{"delivered", "queued", "retrying", "resent", "removed", "expiring"}
		for _, k := range append(append([]string{}, failed...), others...) {
			h.user(operator, k, k+"@example.com")
		}
		// expiring's invitation runs out before the listing; the others do not.
		h.invite("expiring")
		h.settleMail(map[string]mailResult{"expiring@example.com": deadLettered(reasonRejected)})
		h.clock.Advance(time.Hour)
		sentAt := h.clock.Now()
		for _, k := range append(append([]string{}, failed...), others...) {
			if k != "expiring" && k != "queued" {
				h.invite(k)
			}
		}
		none, err := h.api.ListUndeliverable(h.ctx, store.UndeliverableFilter{})
		if err != nil || len(none.Items) != 1 || none.Items[0].User != "expiring" {
			h.t.Fatalf("ListUndeliverable while only expiring's mail failed = %+v, %v", none, err)
		}
		results := map[string]mailResult{
			"delivered@example.com": delivered,
			"retrying@example.com":  retried(reasonLater),
			"resent@example.com":    deadLettered(reasonRejected),
			"removed@example.com":   deadLettered(reasonInvalid),
		}
		reasons := []string{reasonRejected, reasonInvalid, reasonRefused}
		wantClass := map[string]string{reasonRejected: "5xx permanent", reasonInvalid: "invalid", reasonRefused: "network temporary"}
		var want []store.UndeliverableInvitation
		for i, k := range failed {
			results[k+"@example.com"] = deadLettered(reasons[i%len(reasons)])
			want = append(want, store.UndeliverableInvitation{User: k, SentAt: sentAt, ReplyClass: wantClass[reasons[i%len(reasons)]]})
		}
		h.settleMail(results)
		// Not listed: a mail not tried yet; a re-sent invitation, a new one whose
		// mail has not failed; a removed user's invitation, withdrawn; an expired
		// one, no longer pending.
		h.clock.Advance(time.Minute)
		h.invite("queued")
		h.invite("resent")
		if _, err := h.api.RemoveUser(h.ctx, operator, "removed"); err != nil {
			h.t.Fatal(err)
		}
		h.clock.Advance(TTL - time.Hour)
		if inv, err := h.api.GetInvitation(h.ctx, "expiring"); err != nil || inv.State != store.InvitationExpired {
			h.t.Fatalf("expiring's invitation = %+v, %v; want Expired", inv, err)
		}

		items, pages := h.undeliverable(1)
		if pages != len(failed) {
			h.t.Fatalf("%d undeliverable invitations in pages of 1 took %d pages, want %d", len(failed), pages, len(failed))
		}
		diff(h.t, "undeliverable invitations, paged by 1", want, items)
		h.noSecrets("the undeliverable invitations", items)
		for _, it := range items {
			inv, err := h.api.GetInvitation(h.ctx, it.User)
			if err != nil {
				h.t.Fatal(err)
			}
			if inv.State != store.InvitationPending || inv.Delivery == nil || inv.Delivery.State != store.DeliveryFailed ||
				inv.Delivery.ReplyClass != it.ReplyClass || !inv.SentAt.Equal(it.SentAt) {
				h.t.Fatalf("GetInvitation(%s) = %+v, delivery %+v; want it as listed: %+v", it.User, inv, inv.Delivery, it)
			}
		}
		if items, _ := h.undeliverable(4); len(items) != len(failed) {
			h.t.Fatalf("paged by 4: %d items, want %d", len(items), len(failed))
		}
		page, err = h.api.ListUndeliverable(h.ctx, store.UndeliverableFilter{})
		if err != nil || page.Next != nil {
			h.t.Fatalf("default page = %+v, %v; want everything on one page", page, err)
		}
		diff(h.t, "default page", want, page.Items)

		// Once the user is reached through a new invitation, it is no longer listed;
		// mails that keep failing for now are not listed either.
		h.invite("user-1")
		h.settleMail(map[string]mailResult{
			"user-1@example.com":   delivered,
			"resent@example.com":   delivered,
			"queued@example.com":   retried(reasonRefused),
			"retrying@example.com": retried(reasonLater),
		})
		items, _ = h.undeliverable(2)
		var got []string
		for _, it := range items {
			got = append(got, it.User)
		}
		diff(h.t, "undeliverable after user-1 was re-sent and reached", []string{"a", "ab", "abc", "user-10", "user-2"}, got)

		// A cursor of another listing, or none at all, is refused.
		users, err := h.api.ListUsers(h.ctx, store.UserFilter{Limit: 1})
		if err != nil || users.Next == nil {
			h.t.Fatalf("ListUsers = %+v, %v; want a next cursor", users, err)
		}
		for _, cursor := range []string{"not a cursor!", *users.Next} {
			_, err = h.api.ListUndeliverable(h.ctx, store.UndeliverableFilter{Cursor: cursor})
			expectError(h.t, err, store.CodeInvalid, "cursor")
		}
		first, err := h.api.ListUndeliverable(h.ctx, store.UndeliverableFilter{Limit: 1})
		if err != nil || first.Next == nil {
			h.t.Fatalf("ListUndeliverable = %+v, %v; want a next cursor", first, err)
		}
		_, err = h.api.ListUsers(h.ctx, store.UserFilter{Cursor: *first.Next})
		expectError(h.t, err, store.CodeInvalid, "cursor")
	}},
}
