package crash

import (
	"context"
	"slices"
	"strings"

	"github.com/studio-operator/studio-operator/internal/store"
	studiomail "github.com/studio-operator/studio-operator/internal/store/mail"
)

// checkMails: the mail directory holds, per address, exactly as many .eml files as
// invitations were sent: status.invitation.sendCount for a live user, the store's
// count for a deleted one (its object, and so its status, is gone).
func (k checker) checkMails(ctx context.Context, cs clusterState, v verdict) error {
	counts, unknown, err := mailsPerUser(k.mailDir)
	if err != nil {
		return err
	}
	if unknown > 0 {
		v.add(invMails, "%d mail(s) to addresses of no workload user", unknown)
	}
	want := map[string]int{}
	for i := range cs.users {
		u := &cs.users[i]
		if u.Status.Invitation != nil {
			want[u.Name] = int(u.Status.Invitation.SendCount)
		} else {
			want[u.Name] = 0
		}
	}
	for _, name := range k.gone {
		inv, err := k.store.GetInvitation(ctx, name)
		switch {
		case store.IsNotFound(err):
			want[name] = 0
		case err != nil:
			return err
		default:
			want[name] = inv.SendCount
		}
	}
	for name := range counts {
		if _, ok := want[name]; !ok {
			want[name] = 0
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if counts[n] != want[n] {
			v.add(invMails, "user %s: %d mail(s), %d send(s) recorded", n, counts[n], want[n])
		}
	}
	return nil
}

// mailsPerUser counts the delivered mails of dir by recipient, as workload user
// names (the local part of userEmail's addresses); unknown counts the other
// recipients.
func mailsPerUser(dir string) (map[string]int, int, error) {
	byAddress, err := studiomail.Recipients(dir)
	if err != nil {
		return nil, 0, err
	}
	counts, unknown := map[string]int{}, 0
	for to, n := range byAddress {
		local, domain, _ := strings.Cut(to, "@")
		if domain != emailDomain {
			unknown += n
			continue
		}
		counts[local] += n
	}
	return counts, unknown, nil
}
