package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
)

// usersWithAccess counts the users whose store grants are not empty.
func usersWithAccess(us []*iamv1.StudioUser) func() (int, error) {
	return func() (int, error) {
		n := 0
		for _, u := range us {
			rows, err := storeRows(u.Name)()
			if err != nil {
				return 0, err
			}
			if len(rows) > 0 {
				n++
			}
		}
		return n, nil
	}
}

func heldOf(a *iamv1.Agency) func() (*iamv1.HeldRevocations, error) {
	return func() (*iamv1.HeldRevocations, error) {
		err := fetch(a)
		return a.Status.HeldRevocations, err
	}
}

// heldGauge reads studio_operator_revocations_held for agency a from the manager's
// metrics registry, as a scrape would.
func heldGauge(a *iamv1.Agency) func() (float64, error) {
	return func() (float64, error) {
		mfs, err := crmetrics.Registry.Gather()
		if err != nil {
			return 0, err
		}
		for _, mf := range mfs {
			if mf.GetName() != "studio_operator_revocations_held" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "agency" && l.GetValue() == a.Name {
						return m.GetGauge().GetValue(), nil
					}
				}
			}
		}
		return -1, nil
	}
}

func approve(a *iamv1.Agency, hash string) {
	GinkgoHelper()
	Expect(k8s.Patch(ctx(), a, client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"`+iamv1.AnnotationApproveRevocations+`":"`+hash+`"}}}`)))).To(Succeed())
}

var _ = Describe("The mass-revocation guard", func() {
	var (
		home string
		acme *iamv1.Agency
	)
	BeforeEach(func() {
		home = newNamespace(nil)
		acme = newAgency(home)
		newEnvironment(home, acme.Name)
	})

	It("holds what goes beyond the limit when a large binding goes, until the plan is approved", func() {
		var team []*iamv1.StudioUser
		for range 12 {
			team = append(team, newUser())
		}
		everyone := newBinding(home, onAgency(acme), names(team...), iamv1.RoleAnalyst)
		Eventually(usersWithAccess(team)).Should(Equal(12))

		By("deleting the binding: 5 users (the minimum; 20% of 12 is less) lose their access, 7 keep it")
		Expect(k8s.Delete(ctx(), everyone)).To(Succeed())
		Eventually(heldOf(acme)).Should(HaveField("Users", BeEquivalentTo(7)))
		Eventually(usersWithAccess(team)).Should(Equal(7))
		Consistently(usersWithAccess(team), "2s").Should(Equal(7))
		Eventually(heldGauge(acme)).Should(BeEquivalentTo(7), "the revocations_held gauge counts them")
		Expect(conditionOf(acme, iamv1.ConditionRevocationHeld)()).To(haveReason(metav1.ConditionTrue, iamv1.ReasonRevocationHeld))
		Expect(conditionOf(acme, iamv1.ConditionReady)()).To(HaveField("Status", metav1.ConditionFalse))
		Eventually(eventsFor(acme)).Should(ContainElement(controllers.EventRevocationHeld))
		plan := must(heldOf(acme)()).PlanHash
		Expect(plan).To(HavePrefix("sha256:"))
		held := 0
		for _, u := range team {
			if c, _ := conditionOf(u, iamv1.ConditionStalled)(); c != nil && c.Reason == iamv1.ReasonRevocationHeld {
				held++
			}
		}
		Expect(held).To(Equal(7), "each held user says so")

		By("an approval of another plan is ignored, and says so")
		approve(acme, "sha256:0000")
		Eventually(eventsFor(acme)).Should(ContainElement(controllers.EventApprovalIgnored))
		Consistently(usersWithAccess(team), "2s").Should(Equal(7))

		By("a restart of the manager does not let another budget go: the holds are inherited")
		manager.stop()
		manager = startManager(operatorStore)
		Consistently(usersWithAccess(team), 2*resyncPeriod+time.Second).Should(Equal(7))
		Eventually(heldOf(acme)).Should(And(HaveField("Users", BeEquivalentTo(7)), HaveField("PlanHash", Not(Equal(plan)))))
		Expect(conditionOf(acme, iamv1.ConditionRevocationHeld)()).To(haveReason(metav1.ConditionTrue, iamv1.ReasonRevocationHeld))
		plan = must(heldOf(acme)()).PlanHash

		By("approving the plan held lets exactly it through")
		approve(acme, plan)
		Eventually(usersWithAccess(team)).Should(BeZero())
		Eventually(heldOf(acme)).Should(BeNil())
		Eventually(heldGauge(acme)).Should(BeZero(), "an Agency without holds reports 0")
		Eventually(conditionOf(acme, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		Expect(conditionOf(acme, iamv1.ConditionRevocationHeld)()).To(BeNil())
		for _, u := range team {
			Eventually(conditionOf(u, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		}
	})

	It("holds mass deletions of StudioUsers, which stay until approved", func() {
		var team []*iamv1.StudioUser
		for range 8 {
			team = append(team, newUser())
		}
		newBinding(home, onAgency(acme), names(team...), iamv1.RolePlanner)
		Eventually(usersWithAccess(team)).Should(Equal(8))

		for _, u := range team {
			Expect(k8s.Delete(ctx(), u)).To(Succeed())
		}
		Eventually(heldOf(acme)).Should(HaveField("Users", BeEquivalentTo(3)))
		Eventually(usersWithAccess(team)).Should(Equal(3))
		Eventually(func() (int, error) {
			remaining := 0
			for _, u := range team {
				switch err := fetch(u); {
				case err == nil:
					remaining++
				case !apierrorsIsNotFound(err):
					return 0, err
				}
			}
			return remaining, nil
		}).Should(Equal(3), "the held users are kept, terminating, with their finalizer")

		approve(acme, must(heldOf(acme)()).PlanHash)
		Eventually(usersWithAccess(team)).Should(BeZero())
		for _, u := range team {
			Eventually(func() error { return fetch(u) }).Should(Satisfy(apierrorsIsNotFound))
		}
	})

	It("never removes the last OrganisationManager by itself, even with the limit off", func() {
		open := newAgency(home+"-x", func(a *iamv1.Agency) {
			a.Spec.HomeNamespace = newNamespace(nil)
			a.Spec.RevocationGuard = &iamv1.RevocationGuard{MaxPercent: ptr.To[int32](100)}
		})
		newEnvironment(open.Spec.HomeNamespace, open.Name)
		boss, deputy := newUser(), newUser()
		managers := newBinding(open.Spec.HomeNamespace, onAgency(open), names(boss, deputy), iamv1.RoleOrganisationManager)
		Eventually(usersWithAccess([]*iamv1.StudioUser{boss, deputy})).Should(Equal(2))

		By("dropping one of two managers goes through; dropping the last one is held")
		Expect(k8s.Patch(ctx(), managers, client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"subjects":[{"name":"`+boss.Name+`"}]}}`)))).To(Succeed())
		Eventually(storeRows(deputy.Name)).Should(BeEmpty())
		Expect(k8s.Delete(ctx(), managers)).To(Succeed())
		Eventually(conditionOf(boss, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonRevocationHeld))
		Expect(storeRows(boss.Name)()).NotTo(BeEmpty())
		Eventually(heldOf(open)).Should(HaveField("Users", BeEquivalentTo(1)))
	})
})
