package storeha

import (
	"strings"
	"testing"
)

// mailCounts sums up what the SMTP server received.
type mailCounts struct {
	accepted    int   // messages accepted, repeats included
	distinct    int   // distinct Message-IDs
	redelivered int   // accepted - distinct
	perReplica  []int // accepted per replica
}

// checkMails checks that every user got one invitation mail, under one Message-ID,
// and that the only mail sent twice is the one accepted just before its replica was
// killed: delivery is at least once, and the repeat carries the same Message-ID.
func checkMails(t *testing.T, got []delivery, plans []userPlan, held heldMail, replicas int) mailCounts {
	t.Helper()
	c := mailCounts{accepted: len(got), perReplica: make([]int, replicas)}
	byRcpt := map[string]map[string]int{}
	for _, d := range got {
		c.perReplica[d.replica]++
		if byRcpt[d.rcpt] == nil {
			byRcpt[d.rcpt] = map[string]int{}
		}
		byRcpt[d.rcpt][d.messageID]++
	}
	known := 0
	for _, u := range plans {
		ids := byRcpt[strings.ToLower(u.email)]
		if ids != nil {
			known++
		}
		if len(ids) != 1 {
			t.Errorf("user %s: invitation mail under %d Message-IDs, want 1", u.key, len(ids))
		}
		for id, n := range ids {
			c.distinct++
			if n > 1 && id != held.messageID {
				t.Errorf("user %s: mail delivered %d times; only the mail accepted as its replica was killed may come twice", u.key, n)
			}
		}
	}
	if len(byRcpt) != known {
		t.Errorf("mails to %d recipients who are none of the users", len(byRcpt)-known)
	}
	c.redelivered = c.accepted - c.distinct
	if n := countMessage(got, held.messageID); n != 2 {
		t.Errorf("the mail accepted just before its replica was killed was delivered %d times, want 2: "+
			"the store never recorded it, so the survivor sends it again under the same Message-ID", n)
	}
	return c
}

func countMessage(got []delivery, messageID string) int {
	n := 0
	for _, d := range got {
		if d.messageID == messageID {
			n++
		}
	}
	return n
}

// checkOutbox checks that every user has exactly one mail in the outbox (a retried
// SendInvitation queued none) and that it is the one delivered.
func checkOutbox(t *testing.T, outbox map[string][]string, got []delivery, plans []userPlan) {
	t.Helper()
	delivered := map[string]bool{}
	for _, d := range got {
		delivered[d.messageID] = true
	}
	for _, u := range plans {
		ids := outbox[u.key]
		if len(ids) != 1 {
			t.Errorf("user %s: %d outbox mails, want 1", u.key, len(ids))
			continue
		}
		if !delivered[ids[0]] {
			t.Errorf("user %s: the outbox mail's Message-ID was not delivered", u.key)
		}
	}
	if len(outbox) != len(plans) {
		t.Errorf("outbox mails for %d users, want %d", len(outbox), len(plans))
	}
}
