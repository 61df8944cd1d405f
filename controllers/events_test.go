package controllers_test

import (
	"maps"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/cascade"
)

var _ = Describe("Events", func() {
	It("announce a large binding's change once, on the binding, and a small one on each user", func() {
		home := newNamespace(nil)
		// The revocation guard is off here: its own spec deletes large bindings.
		acme := newAgency(home, func(a *iamv1.Agency) {
			a.Spec.RevocationGuard = &iamv1.RevocationGuard{MaxPercent: ptr.To[int32](100)}
		})
		prod := newEnvironment(home, acme.Name)
		var many []*iamv1.StudioUser
		for range 12 {
			many = append(many, newUser())
		}
		big := newBinding(home, onAgency(acme), names(many...), iamv1.RoleAnalyst)
		solo := newUser()
		small := newBinding(home, onEnvironment(prod), names(solo), iamv1.RoleOperator)
		for _, u := range append(many, solo) {
			Eventually(storeRows(u.Name)).ShouldNot(BeEmpty())
			Eventually(eventsFor(u)).Should(ContainElement(controllers.EventInvitationSent))
		}
		Eventually(eventsFor(big)).Should(ContainElement(controllers.EventSubjectsUpdated))

		By("an edit of the large binding: one event on it, none per user, the store has it all")
		// AccessGranted events so far: a user created in the same second as the
		// binding may have one (times have a resolution of seconds). Events are sent
		// asynchronously, so wait until the counts stand still.
		var granted map[string]int
		Eventually(func() (bool, error) {
			now := map[string]int{}
			for _, u := range many {
				got, err := eventsFor(u)()
				if err != nil {
					return false, err
				}
				now[u.Name] = countOf(got, controllers.EventAccessGranted)
			}
			same := granted != nil && maps.Equal(now, granted)
			granted = now
			return same, nil
		}, "20s", "1s").Should(BeTrue())
		Expect(k8s.Patch(ctx(), big, client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"roles":["Analyst","Planner"]}}`)))).To(Succeed())
		for _, u := range many {
			Eventually(storeRows(u.Name)).Should(ConsistOf(storeRow(prod, cascade.SourceAgency, cascade.Analyst, cascade.Planner)))
		}
		Eventually(func() (int, error) {
			got, err := eventsFor(big)()
			return countOf(got, controllers.EventSubjectsUpdated), err
		}).Should(Equal(2))
		for _, u := range many {
			Consistently(func() (int, error) {
				got, err := eventsFor(u)()
				return countOf(got, controllers.EventAccessGranted), err
			}, "1s").Should(Equal(granted[u.Name]), "AccessGranted events of %s after the edit", u.Name)
		}

		By("an edit of a one-subject binding is announced on its user")
		Expect(k8s.Patch(ctx(), small, client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"roles":["Operator","Analyst"]}}`)))).To(Succeed())
		Eventually(eventsFor(solo)).Should(ContainElement(controllers.EventAccessGranted))
		Expect(eventsFor(small)()).NotTo(ContainElement(controllers.EventSubjectsUpdated))

		By("two quick edits of the large binding: the store ends at the last one, for the subjects it still names")
		Expect(k8s.Patch(ctx(), big, client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"roles":["Planner"]}}`)))).To(Succeed())
		dropped := many[0]
		Eventually(func() error {
			if err := fetch(big); err != nil {
				return err
			}
			big.Spec.Subjects = slices.DeleteFunc(big.Spec.Subjects, func(s iamv1.Subject) bool { return s.Name == dropped.Name })
			big.Spec.Roles = []iamv1.Role{iamv1.RoleOperator}
			return k8s.Update(ctx(), big)
		}).Should(Succeed())
		for _, u := range many[1:] {
			Eventually(storeRows(u.Name)).Should(ConsistOf(storeRow(prod, cascade.SourceAgency, cascade.Operator)))
		}
		Eventually(storeRows(dropped.Name)).Should(BeEmpty(), "the subject the binding no longer names")

		By("deleting the large binding revokes its roles from every subject")
		Expect(k8s.Delete(ctx(), big)).To(Succeed())
		for _, u := range many[1:] {
			Eventually(storeRows(u.Name)).Should(BeEmpty())
		}
	})
})

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
