package plugin

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// in is a time d after the fixed clock.
func in(d time.Duration) *metav1.Time {
	t := metav1.NewTime(now.Add(d))
	return &t
}

// invited is a user whose latest invitation is in state, expiring at expires.
func invited(state iamv1.InvitationState, expires *metav1.Time, conds ...metav1.Condition) iamv1.StudioUser {
	return user("u", func(u *iamv1.StudioUser) {
		u.Status.Invitation = &iamv1.InvitationStatus{State: state, ExpiresAt: expires}
		u.Status.Conditions = conds
	})
}

func undeliverable(status metav1.ConditionStatus) metav1.Condition {
	return metav1.Condition{Type: iamv1.ConditionInvitationUndeliverable, Status: status,
		Reason: iamv1.ReasonUndeliverable, Message: "5xx permanent"}
}

func TestInvitationCell(t *testing.T) {
	cases := map[string]struct {
		user iamv1.StudioUser
		want string
	}{
		"never looked at":                     {user: user("u", nil), want: "-"},
		"not sent":                            {user: invited(iamv1.InvitationNotSent, nil), want: "-"},
		"state unset":                         {user: invited("", nil), want: "-"},
		"pending, days left, rounded down":    {user: invited(iamv1.InvitationPending, in(3*24*time.Hour+23*time.Hour)), want: "Pending 3d left"},
		"pending, hours left":                 {user: invited(iamv1.InvitationPending, in(5*time.Hour+59*time.Minute)), want: "Pending 5h left"},
		"pending, minutes left":               {user: invited(iamv1.InvitationPending, in(42*time.Minute)), want: "Pending 42m left"},
		"pending without expiry":              {user: invited(iamv1.InvitationPending, nil), want: "Pending"},
		"pending past its expiry":             {user: invited(iamv1.InvitationPending, ago(time.Minute)), want: "Pending, past expiry"},
		"pending at its expiry":               {user: invited(iamv1.InvitationPending, in(0)), want: "Pending, past expiry"},
		"undeliverable wins over pending":     {user: invited(iamv1.InvitationPending, in(time.Hour), undeliverable(metav1.ConditionTrue)), want: "Undeliverable"},
		"delivered again after a failure":     {user: invited(iamv1.InvitationPending, in(time.Hour), undeliverable(metav1.ConditionFalse)), want: "Pending 1h left"},
		"expired stays expired":               {user: invited(iamv1.InvitationExpired, ago(time.Hour), undeliverable(metav1.ConditionTrue)), want: "Expired"},
		"accepted":                            {user: invited(iamv1.InvitationAccepted, ago(time.Hour)), want: "Accepted"},
		"withdrawn":                           {user: invited(iamv1.InvitationWithdrawn, nil), want: "Withdrawn"},
		"unknown state from a newer operator": {user: invited("Bounced", nil), want: "-"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := InvitationCell(&tc.user, now); got != tc.want {
				t.Errorf("InvitationCell = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInvitationFilter(t *testing.T) {
	users := map[string]iamv1.StudioUser{
		"none":          user("u", nil),
		"pending":       invited(iamv1.InvitationPending, in(time.Hour)),
		"undeliverable": invited(iamv1.InvitationPending, in(time.Hour), undeliverable(metav1.ConditionTrue)),
		"expired":       invited(iamv1.InvitationExpired, ago(time.Hour)),
		"accepted":      invited(iamv1.InvitationAccepted, nil),
	}
	cases := map[string]struct {
		filter InvitationFilter
		keep   []string
	}{
		"no filter keeps everyone":        {filter: InvitationFilter{}, keep: []string{"none", "pending", "undeliverable", "expired", "accepted"}},
		"pending, undeliverable included": {filter: InvitationFilter{Pending: true}, keep: []string{"pending", "undeliverable"}},
		"expired":                         {filter: InvitationFilter{Expired: true}, keep: []string{"expired"}},
		"both: either":                    {filter: InvitationFilter{Pending: true, Expired: true}, keep: []string{"pending", "undeliverable", "expired"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for which, u := range users {
				want := false
				for _, k := range tc.keep {
					want = want || k == which
				}
				if got := tc.filter.Keep(&u); got != want {
					t.Errorf("%s: Keep = %v, want %v", which, got, want)
				}
			}
		})
	}
}
