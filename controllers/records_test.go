package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

func storeEnvironment(e *iamv1.Environment) func() (store.Environment, error) {
	return func() (store.Environment, error) { return studio.Service().GetEnvironment(ctx(), envKey(e)) }
}

var _ = Describe("Agencies and environments", func() {
	It("records them, follows spec changes and reports a missing agency", func() {
		home := newNamespace(nil)
		acme := newAgency(home)
		prod := newEnvironment(home, acme.Name)
		expectCurrent(acme, prod)
		Expect(storeEnvironment(prod)()).To(And(HaveField("Agency", acme.Name), HaveField("ManagedBy", instanceID)))
		Expect(studio.Service().GetAgency(ctx(), acme.Name)).To(HaveField("DisplayName", acme.Spec.DisplayName))

		Expect(fetch(prod)).To(Succeed())
		prod.Spec.DisplayName = "Production bot"
		Expect(k8s.Update(ctx(), prod)).To(Succeed())
		Eventually(storeEnvironment(prod)).Should(HaveField("DisplayName", "Production bot"))

		orphan := newEnvironment(home, "no-such-agency")
		Eventually(conditionOf(orphan, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonAgencyNotFound))
	})

	It("deletes records only with deletionPolicy Delete, the agency after its environments", func() {
		home := newNamespace(nil)
		acme := newAgency(home, func(a *iamv1.Agency) { a.Spec.DeletionPolicy = iamv1.DeletionPolicyDelete })
		doomed := newEnvironment(home, acme.Name, func(e *iamv1.Environment) { e.Spec.DeletionPolicy = iamv1.DeletionPolicyDelete })
		kept := newEnvironment(home, acme.Name)
		alice := newUser()
		newBinding(home, onAgency(acme), names(alice), iamv1.RoleAnalyst)
		Eventually(storeRows(alice.Name)).Should(HaveLen(2))

		Expect(k8s.Delete(ctx(), acme)).To(Succeed())
		Eventually(conditionOf(acme, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionFalse, iamv1.ReasonDependentsExist))

		Expect(k8s.Delete(ctx(), doomed)).To(Succeed())
		Eventually(func() error { _, err := storeEnvironment(doomed)(); return err }).Should(Satisfy(store.IsNotFound))

		By("an orphaned environment record keeps the agency record, which the operator reports")
		Expect(k8s.Delete(ctx(), kept)).To(Succeed())
		Eventually(func() error { return fetch(kept) }).Should(Satisfy(apierrorsIsNotFound))
		Expect(storeEnvironment(kept)()).To(HaveField("Agency", acme.Name))
		Eventually(conditionOf(acme, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonDependentsExist))

		By("once the Studio's environment is gone too, the agency goes")
		Expect(studio.Service().DeleteEnvironment(ctx(), store.Caller{}, envKey(kept))).To(Succeed())
		Eventually(func() error { return fetch(acme) }, 2*resyncPeriod+5*time.Second).Should(Satisfy(apierrorsIsNotFound))
		_, err := studio.Service().GetAgency(ctx(), acme.Name)
		Expect(store.IsNotFound(err)).To(BeTrue())
		Eventually(accessOf(alice)).Should(BeEmpty())
	})

	It("has a way out of deleting an agency whose environment records were orphaned, and says what blocks it", func() {
		home := newNamespace(nil)
		acme := newAgency(home, func(a *iamv1.Agency) { a.Spec.DeletionPolicy = iamv1.DeletionPolicyDelete })
		kept := newEnvironment(home, acme.Name)
		alice := newUser()
		b := newBinding(home, onEnvironment(kept), names(alice), iamv1.RoleAgent)
		Eventually(accessOf(alice)).Should(HaveLen(1))

		By("while the agency terminates, what refers to it says so")
		Expect(k8s.Delete(ctx(), acme)).To(Succeed())
		Eventually(conditionOf(kept, iamv1.ConditionStalled)).Should(And(
			haveReason(metav1.ConditionTrue, iamv1.ReasonAgencyNotFound),
			HaveField("Message", ContainSubstring("is being deleted"))))
		Eventually(conditionOf(b, iamv1.ConditionStalled)).Should(HaveField("Message", ContainSubstring("is being deleted")))

		By("the environment goes with deletionPolicy Orphan: its record stays, and the agency names it and the ways out")
		Expect(k8s.Delete(ctx(), kept)).To(Succeed())
		Eventually(conditionOf(acme, iamv1.ConditionStalled)).Should(And(
			haveReason(metav1.ConditionTrue, iamv1.ReasonDependentsExist),
			HaveField("Message", And(ContainSubstring(envKey(kept)), ContainSubstring("deletionPolicy to Orphan")))))
		Expect(acme.Status.Environments).To(BeZero())

		By("switching the terminating agency to Orphan lets it go and keeps its record")
		Expect(fetch(acme)).To(Succeed())
		acme.Spec.DeletionPolicy = iamv1.DeletionPolicyOrphan
		Expect(k8s.Update(ctx(), acme)).To(Succeed())
		Eventually(func() error { return fetch(acme) }).Should(Satisfy(apierrorsIsNotFound))
		Expect(studio.Service().GetAgency(ctx(), acme.Name)).To(HaveField("Key", acme.Name))
	})
})
