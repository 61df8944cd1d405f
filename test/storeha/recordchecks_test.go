package storeha

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/client"
)

// checkRecords reads every user back from the survivor: the grant set as written, one
// invitation (sendCount 1, also in every answer to SendInvitation) whose mail is
// Delivered.
func checkRecords(ctx context.Context, t *testing.T, c *client.Client, plans []userPlan, answers map[string]invitationResult) {
	t.Helper()
	for _, u := range plans {
		gs, err := c.GetGrants(ctx, u.key)
		if err != nil {
			t.Errorf("user %s: GetGrants: %v", u.key, err)
			continue
		}
		if diff := cmp.Diff(u.grants, gs.Grants, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("user %s: grant set differs from the one written (-written +stored):\n%s", u.key, diff)
		}
		inv, err := c.GetInvitation(ctx, u.key)
		switch {
		case err != nil:
			t.Errorf("user %s: GetInvitation: %v", u.key, err)
		case inv.SendCount != 1 || answers[u.key].sendCount != 1:
			t.Errorf("user %s: sendCount %d (answered %d), want 1", u.key, inv.SendCount, answers[u.key].sendCount)
		case inv.State != store.InvitationPending || inv.Delivery == nil || inv.Delivery.State != store.DeliveryDelivered:
			t.Errorf("user %s: invitation %s, delivery %+v; want Pending and Delivered", u.key, inv.State, inv.Delivery)
		}
	}
}

// checkAudit verifies the hash chain and that each user was created once and invited
// once.
func checkAudit(ctx context.Context, t *testing.T, c *client.Client, plans []userPlan) (entries int64) {
	t.Helper()
	v, err := c.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	if !v.OK {
		t.Errorf("audit chain does not verify: %+v", v)
	}
	all, err := c.ListAllAudit(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if int64(len(all)) != v.Entries {
		t.Errorf("audit lists %d entries, the verification walked %d", len(all), v.Entries)
	}
	count := map[string]int{}
	for _, e := range all {
		count[e.Action+" "+e.Target]++
	}
	for _, u := range plans {
		for _, action := range []string{store.ActionUserCreated, store.ActionInvitationSent} {
			if n := count[action+" user/"+u.key]; n != 1 {
				t.Errorf("user %s: %d audit entries %s, want 1", u.key, n, action)
			}
		}
	}
	return v.Entries
}

// checkLinks opens every invitation link on the survivor: links minted by either
// replica work on the other, because they share the link key. It returns how many of
// the links the killed replica had minted.
func checkLinks(ctx context.Context, t *testing.T, survivorURL, publicURL string, answers map[string]invitationResult, victim int) int {
	t.Helper()
	hc := &http.Client{Timeout: requestTimeout}
	fromVictim := 0
	for key, a := range answers {
		path, ok := strings.CutPrefix(a.link, publicURL)
		if !ok || !strings.HasPrefix(path, "/invite/") {
			t.Errorf("user %s: the invitation link is not under the public URL", key)
			continue
		}
		if a.replica == victim {
			fromVictim++
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, survivorURL+path, nil)
		if err != nil {
			t.Errorf("user %s: %v", key, err)
			continue
		}
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Errorf("user %s: open the invitation link: %v", key, redactURL(err))
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("user %s: the invitation link answers %d on the survivor, want 200", key, resp.StatusCode)
		}
	}
	return fromVictim
}

// redactURL keeps the URL (it holds the link token) out of an HTTP error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// waitDelivered waits until every user's invitation mail is Delivered, asking the
// survivor, and returns when that was first seen.
func waitDelivered(ctx context.Context, c *client.Client, plans []userPlan, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := make([]string, len(plans))
	for i, u := range plans {
		pending[i] = u.key
	}
	for {
		var still []string
		for _, key := range pending {
			inv, err := c.GetInvitation(ctx, key)
			if err != nil || inv.Delivery == nil || inv.Delivery.State != store.DeliveryDelivered {
				still = append(still, key)
			}
		}
		if pending = still; len(pending) == 0 {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("the invitation mails of %d users were not delivered within %s", len(pending), timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
