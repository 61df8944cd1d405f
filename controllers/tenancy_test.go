package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
)

var _ = Describe("Tenancy", func() {
	It("grants nothing in namespaces the agency does not allow, until it does", func() {
		home, other := newNamespace(nil), newNamespace(nil)
		acme := newAgency(home, func(a *iamv1.Agency) {
			a.Spec.EnvironmentNamespaces = &iamv1.EnvironmentNamespaces{
				From:     iamv1.NamespacesSelector,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"studio.example.com/tier": "bots"}},
			}
		})
		main := newEnvironment(home, acme.Name)
		outside := newEnvironment(other, acme.Name)
		alice, bob := newUser(), newUser()
		everyone := newBinding(home, onAgency(acme), names(alice), iamv1.RolePlanner)
		outsideOps := newBinding(other, onEnvironment(outside), names(bob), iamv1.RoleOperator)

		Eventually(conditionOf(outside, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonNamespaceNotAllowed))
		Eventually(conditionOf(outsideOps, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonNamespaceNotAllowed))
		Eventually(accessOf(alice)).Should(Equal([]iamv1.EnvironmentAccess{
			access(main, acme.Name, iamv1.AccessSourceAgency, refs(everyone), iamv1.RolePlanner),
		}))
		Eventually(conditionOf(bob, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		Expect(bob.Status.Access).To(BeEmpty())
		_, err := studio.Service().GetEnvironment(ctx(), envKey(outside))
		Expect(err).To(HaveOccurred(), "a refused environment is not recorded")

		By("labelling the namespace, the environment joins the agency")
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}
		Expect(fetch(ns)).To(Succeed())
		ns.Labels["studio.example.com/tier"] = "bots"
		Expect(k8s.Update(ctx(), ns)).To(Succeed())
		Eventually(accessOf(alice)).Should(ConsistOf(
			access(main, acme.Name, iamv1.AccessSourceAgency, refs(everyone), iamv1.RolePlanner),
			access(outside, acme.Name, iamv1.AccessSourceAgency, refs(everyone), iamv1.RolePlanner),
		))
		Eventually(accessOf(bob)).Should(Equal([]iamv1.EnvironmentAccess{
			access(outside, acme.Name, iamv1.AccessSourceEnvironment, refs(outsideOps), iamv1.RoleOperator),
		}))
		expectCurrent(outside, outsideOps, alice, bob)

		By("removing the label, the access goes again")
		Expect(fetch(ns)).To(Succeed())
		delete(ns.Labels, "studio.example.com/tier")
		Expect(k8s.Update(ctx(), ns)).To(Succeed())
		Eventually(accessOf(bob)).Should(BeEmpty())
		Eventually(storeRows(bob.Name)).Should(BeEmpty())
		Eventually(accessOf(alice)).Should(HaveLen(1))
	})
})

var _ = Describe("Watches", func() {
	It("re-queue exactly the users a change can affect", func() {
		home, elsewhere := newNamespace(nil), newNamespace(nil)
		acme := newAgency(home)
		globex := newAgency(elsewhere)
		prod, dev := newEnvironment(home, acme.Name), newEnvironment(home, acme.Name)
		bot := newEnvironment(elsewhere, globex.Name)
		onProd, agencyWide, onDev, onBot := newUser(), newUser(), newUser(), newUser()
		bProd := newBinding(home, onEnvironment(prod), names(onProd), iamv1.RoleAgent)
		newBinding(home, onAgency(acme), names(agencyWide), iamv1.RoleAnalyst)
		newBinding(home, onEnvironment(dev), names(onDev), iamv1.RoleAgent)
		newBinding(elsewhere, onEnvironment(bot), names(onBot), iamv1.RoleAgent)
		Eventually(accessOf(onBot)).Should(HaveLen(1))
		Eventually(accessOf(agencyWide)).Should(HaveLen(2))

		cache := manager.mgr.GetClient()
		requests := func(obj client.Object) func() []reconcile.Request {
			return func() []reconcile.Request { return controllers.UserRequestsFor(ctx(), cache, obj) }
		}
		users := func(us ...*iamv1.StudioUser) []reconcile.Request {
			var out []reconcile.Request
			for _, u := range us {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: u.Name}})
			}
			return out
		}
		Eventually(requests(prod)).Should(ConsistOf(users(onProd, agencyWide)))
		Eventually(requests(dev)).Should(ConsistOf(users(onDev, agencyWide)))
		Eventually(requests(acme)).Should(ConsistOf(users(onProd, agencyWide, onDev)))
		Eventually(requests(globex)).Should(ConsistOf(users(onBot)))
		Eventually(requests(bProd)).Should(ConsistOf(users(onProd)))
		Eventually(requests(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: elsewhere}})).Should(ConsistOf(users(onBot)))

		By("a binding change reaches its old and new subjects")
		Expect(fetch(bProd)).To(Succeed())
		bProd.Spec.Subjects = []iamv1.Subject{{Name: onDev.Name}}
		Expect(k8s.Update(ctx(), bProd)).To(Succeed())
		Eventually(accessOf(onProd)).Should(BeEmpty())
		Eventually(accessOf(onDev)).Should(HaveLen(2))

		By("deleting an environment revokes what it carried, also rippled roles")
		Expect(k8s.Delete(ctx(), dev)).To(Succeed())
		Eventually(accessOf(agencyWide)).Should(Equal([]iamv1.EnvironmentAccess{
			access(prod, acme.Name, iamv1.AccessSourceAgency, agencyWideRefs(agencyWide), iamv1.RoleAnalyst),
		}))
	})
})

// agencyWideRefs reads the bindings of the user's first access entry (the spec does
// not keep the binding object around).
func agencyWideRefs(u *iamv1.StudioUser) []string {
	Expect(fetch(u)).To(Succeed())
	if len(u.Status.Access) == 0 {
		return nil
	}
	return u.Status.Access[0].Bindings
}

var _ = Describe("Home namespaces", func() {
	It("belong to one agency only, the one created first, and an agency without its home is not Ready", func() {
		home := newNamespace(nil)
		first := newAgency(home)
		Eventually(conditionOf(first, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		time.Sleep(1100 * time.Millisecond) // creation times have a resolution of one second
		second := newAgency(home)
		Eventually(conditionOf(second, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonHomeNamespaceTaken))
		Expect(conditionOf(second, iamv1.ConditionReady)()).To(HaveField("Message", ContainSubstring(first.Name)))

		By("bindings of the second claimant grant nothing; the first one's do")
		prod := newEnvironment(home, first.Name)
		ours, theirs := newUser(), newUser()
		grab := newBinding(home, onAgency(second), names(theirs), iamv1.RoleOrganisationManager)
		own := newBinding(home, onAgency(first), names(ours), iamv1.RolePlanner)
		Eventually(conditionOf(grab, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonHomeNamespaceTaken))
		Eventually(accessOf(ours)).Should(Equal([]iamv1.EnvironmentAccess{
			access(prod, first.Name, iamv1.AccessSourceAgency, refs(own), iamv1.RolePlanner),
		}))
		Eventually(conditionOf(theirs, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		Expect(storeRows(theirs.Name)()).To(BeEmpty())
		grants, err := studio.Service().GetGrants(ctx(), theirs.Name)
		Expect(err).NotTo(HaveOccurred())
		Expect(grants.Grants).To(BeEmpty(), "no agency-wide grant from a binding of the second claimant")

		By("once the first agency goes, the namespace is the second one's")
		Expect(k8s.Delete(ctx(), first)).To(Succeed())
		Eventually(conditionOf(second, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		Eventually(conditionOf(grab, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))

		By("deleting the home namespace, the agency stops being Ready")
		Expect(k8s.Delete(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: home}})).To(Succeed())
		Eventually(conditionOf(second, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonHomeNamespaceNotFound))
		Expect(conditionOf(second, iamv1.ConditionReady)()).To(HaveField("Status", metav1.ConditionFalse))
	})
})
