package failover

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
	studiomail "github.com/studio-operator/studio-operator/internal/store/mail"
)

// granted counts the users the store holds any grant for.
func (s *studio) granted(ctx context.Context) (int, error) {
	sets, err := s.client.ListAllGrants(ctx, store.GrantFilter{Limit: 1000})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, g := range sets {
		if len(g.Grants) > 0 {
			n++
		}
	}
	return n, nil
}

// invited counts the invitations the store has sent, from its audit log.
func (s *studio) invited(ctx context.Context) (int, error) {
	entries, err := s.client.ListAllAudit(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if e.Action == store.ActionInvitationSent {
			n++
		}
	}
	return n, nil
}

// notConverged lists the StudioUsers that are not yet Ready with the binding's
// access and exactly one invitation sent, with why; empty when all are.
func (c *cluster) notConverged(ctx context.Context) ([]string, error) {
	list := &iamv1.StudioUserList{}
	if err := c.client.List(ctx, list); err != nil {
		return nil, err
	}
	var bad []string
	seen := 0
	for _, u := range list.Items {
		seen++
		why := ""
		inv := u.Status.Invitation
		switch {
		case !meta.IsStatusConditionTrue(u.Status.Conditions, iamv1.ConditionReady):
			why = "not Ready"
		case len(u.Status.Access) != 1 || !slices.Equal(u.Status.Access[0].Roles, bindingRoles):
			why = fmt.Sprintf("access %d environments", len(u.Status.Access))
		case inv == nil || inv.SendCount != 1:
			why = fmt.Sprintf("invitation %+v", sendCount(inv))
		}
		if why != "" {
			bad = append(bad, u.Name+": "+why)
		}
	}
	if seen != users {
		bad = append(bad, fmt.Sprintf("%d StudioUsers listed, want %d", seen, users))
	}
	return bad, nil
}

// sendCount is status.invitation.sendCount, or "none" without an invitation status.
func sendCount(inv *iamv1.InvitationStatus) any {
	if inv == nil {
		return "none"
	}
	return fmt.Sprintf("sendCount %d", inv.SendCount)
}

// mailsPerUser counts the delivered invitation mails by recipient, keyed by user
// name. Addresses of no user of the test are counted under "other".
func mailsPerUser(dir string) (map[string]int, error) {
	byAddress, err := studiomail.Recipients(dir)
	counts := map[string]int{}
	for to, n := range byAddress {
		name, ok := strings.CutSuffix(to, "@failover.example.com")
		if !ok {
			name = "other"
		}
		counts[name] += n
	}
	return counts, err
}

// checkMails is an error unless every user got exactly one mail and nobody else any.
func checkMails(counts map[string]int) error {
	var bad []string
	for i := range users {
		if n := counts[userName(i)]; n != 1 {
			bad = append(bad, fmt.Sprintf("%s: %d mails", userName(i), n))
		}
	}
	if n := counts["other"]; n > 0 {
		bad = append(bad, fmt.Sprintf("%d mails to addresses of no user", n))
	}
	return problems("invitation mails", bad)
}

// undelivered lists the users whose invitation the store has not both sent exactly
// once and delivered.
func (s *studio) undelivered(ctx context.Context) ([]string, error) {
	var bad []string
	for i := range users {
		inv, err := s.client.GetInvitation(ctx, userName(i))
		if err != nil {
			return nil, fmt.Errorf("invitation of %s: %w", userName(i), err)
		}
		if inv.SendCount != 1 || inv.Delivery == nil || inv.Delivery.State != store.DeliveryDelivered {
			state := "none"
			if inv.Delivery != nil {
				state = string(inv.Delivery.State)
			}
			bad = append(bad, fmt.Sprintf("%s: sendCount %d, delivery %s", userName(i), inv.SendCount, state))
		}
	}
	return bad, nil
}

// checkGrants is an error unless the store's grant set of every user is what the
// cascade gives, and no other user holds grants.
func (s *studio) checkGrants(ctx context.Context) error {
	sets, err := s.client.ListAllGrants(ctx, store.GrantFilter{Limit: 1000})
	if err != nil {
		return err
	}
	want := wantGrants()
	got := map[string][]store.Grant{}
	for _, g := range sets {
		got[g.User] = g.Grants
	}
	var bad []string
	for i := range users {
		if diff := cmp.Diff(want, got[userName(i)]); diff != "" {
			bad = append(bad, fmt.Sprintf("%s (-want +got):\n%s", userName(i), diff))
		}
		delete(got, userName(i))
	}
	for key, g := range got {
		if len(g) > 0 {
			bad = append(bad, fmt.Sprintf("%s, no user of the test, holds %d grants", key, len(g)))
		}
	}
	return problems("store grants", bad)
}

// checkAudit is an error unless the audit chain verifies and records each user's
// writes once: created once, invited once, each role added once, nothing removed.
// Duplicates would mean the two replicas' writes were not idempotent.
func (s *studio) checkAudit(ctx context.Context) (store.AuditVerification, error) {
	v, err := s.client.VerifyAudit(ctx)
	if err != nil {
		return v, err
	}
	if !v.OK {
		return v, fmt.Errorf("audit chain does not verify: first bad entry %v: %s", deref(v.FirstBad), v.Problem)
	}
	entries, err := s.client.ListAllAudit(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		return v, err
	}
	type key struct{ target, action string }
	count := map[key]int{}
	for _, e := range entries {
		count[key{e.Target, e.Action}]++
	}
	want := map[string]int{
		store.ActionUserCreated: 1, store.ActionInvitationSent: 1, store.ActionGrantAdded: len(bindingRoles),
		store.ActionGrantRemoved: 0, store.ActionDriftCorrected: 0, store.ActionUserUpdated: 0,
	}
	var bad []string
	for i := range users {
		target := "user/" + userName(i)
		for action, n := range want {
			if got := count[key{target, action}]; got != n {
				bad = append(bad, fmt.Sprintf("%s: %d %s entries, want %d", userName(i), got, action, n))
			}
		}
	}
	slices.Sort(bad)
	return v, problems("audit log", bad)
}

// problems is nil for none, else an error listing the first few.
func problems(what string, bad []string) error {
	if len(bad) == 0 {
		return nil
	}
	const show = 10
	total, more := len(bad), ""
	if total > show {
		more = fmt.Sprintf("\n... and %d more", total-show)
		bad = bad[:show]
	}
	return fmt.Errorf("%s: %d problems:\n%s%s", what, total, strings.Join(bad, "\n"), more)
}
