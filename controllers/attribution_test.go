package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
	"github.com/studio-operator/studio-operator/internal/store"
)

var _ = Describe("Audit attribution", func() {
	It("attributes grant changes to the RoleBinding whose edit caused them", func() {
		home := newNamespace(nil)
		acme := newAgency(home)
		prod := newEnvironment(home, acme.Name)
		alice := newUser()
		agents := newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleAgent)
		Eventually(accessOf(alice)).Should(HaveLen(1))

		// managedFields times have a resolution of one second: make the binding's
		// edit unambiguously later than the user's creation.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
		Expect(fetch(agents)).To(Succeed())
		before := agents.DeepCopy()
		agents.Spec.Roles = append(agents.Spec.Roles, iamv1.RoleOperator)
		Expect(k8s.Patch(ctx(), agents, client.MergeFrom(before), client.FieldOwner("argocd-controller"))).To(Succeed())

		wantSource := fmt.Sprintf("RoleBinding/%s/%s@%d", agents.Namespace, agents.Name, agents.Generation)
		Eventually(func() ([]store.AuditEntry, error) {
			page, err := studio.Service().ListAudit(ctx(), store.AuditFilter{User: alice.Name, Limit: 1000})
			var added []store.AuditEntry
			for _, e := range page.Entries {
				if e.Action == store.ActionGrantAdded && e.Details["role"] == string(iamv1.RoleOperator) {
					added = append(added, e)
				}
			}
			return added, err
		}).Should(ConsistOf(And(
			HaveField("Source", wantSource),
			HaveField("OnBehalfOf", "argocd-controller"),
		)))
	})

	// auditOf returns the entries of action about user.
	auditOf := func(user, action string) func() ([]store.AuditEntry, error) {
		return func() ([]store.AuditEntry, error) {
			page, err := studio.Service().ListAudit(ctx(), store.AuditFilter{User: user, Limit: 1000})
			var out []store.AuditEntry
			for _, e := range page.Entries {
				if e.Action == action {
					out = append(out, e)
				}
			}
			return out, err
		}
	}
	nextSecond := func() { time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond))) }

	It("credits a revocation to the RoleBinding edit that removed the subject", func() {
		home := newNamespace(nil)
		acme := newAgency(home)
		prod := newEnvironment(home, acme.Name)
		alice, bob := newUser(), newUser()
		agents := newBinding(home, onEnvironment(prod), names(alice, bob), iamv1.RoleAgent)
		Eventually(accessOf(bob)).Should(HaveLen(1))

		nextSecond()
		Expect(fetch(agents)).To(Succeed())
		before := agents.DeepCopy()
		// A removal leaves no field of its own: the edit is known by the entry it
		// renews, as Argo CD's client-side apply renews last-applied-configuration.
		agents.Spec.Subjects = []iamv1.Subject{{Name: alice.Name}}
		agents.Annotations = map[string]string{"example.com/synced-revision": "2"}
		Expect(k8s.Patch(ctx(), agents, client.MergeFrom(before), client.FieldOwner("argocd-controller"))).To(Succeed())

		Eventually(auditOf(bob.Name, store.ActionGrantRemoved)).Should(ConsistOf(And(
			HaveField("Source", fmt.Sprintf("RoleBinding/%s/%s@%d", agents.Namespace, agents.Name, agents.Generation)),
			HaveField("OnBehalfOf", "argocd-controller"),
		)))
	})

	It("credits a deleted binding's revocations to it and its GitOps application, not to its last editor", func() {
		home := newNamespace(nil)
		acme := newAgency(home)
		prod := newEnvironment(home, acme.Name)
		alice := newUser()
		b := &iamv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: home, Name: uniq("rb"),
				Annotations: map[string]string{provenance.ArgoCDTrackingAnnotation: "shop:iam.studio-operator.io/RoleBinding:" + home + "/agents"}},
			Spec: iamv1.RoleBindingSpec{Scope: onEnvironment(prod), Subjects: []iamv1.Subject{{Name: alice.Name}}, Roles: []iamv1.Role{iamv1.RoleAgent}},
		}
		Expect(k8s.Create(ctx(), b, client.FieldOwner("kubectl-client-side-apply"))).To(Succeed())
		Eventually(accessOf(alice)).Should(HaveLen(1))

		nextSecond()
		Expect(k8s.Delete(ctx(), b)).To(Succeed())
		Eventually(auditOf(alice.Name, store.ActionGrantRemoved)).Should(ConsistOf(And(
			HaveField("Source", fmt.Sprintf("RoleBinding/%s/%s@%d", b.Namespace, b.Name, b.Generation)),
			HaveField("OnBehalfOf", "argocd:shop"),
		)))
	})

	It("does not credit a deleted StudioUser's removal to whoever edited it last", func() {
		home := newNamespace(nil)
		acme := newAgency(home)
		prod := newEnvironment(home, acme.Name)
		name := uniq("user")
		alice := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: iamv1.StudioUserSpec{Email: name + "@example.com"}}
		Expect(k8s.Create(ctx(), alice, client.FieldOwner("kubectl-client-side-apply"))).To(Succeed())
		newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleAgent)
		Eventually(accessOf(alice)).Should(HaveLen(1))

		Expect(k8s.Delete(ctx(), alice)).To(Succeed())
		Eventually(auditOf(alice.Name, store.ActionUserRemoved)).Should(ConsistOf(And(
			// The generation is the one the deletion gave it.
			HaveField("Source", HavePrefix(fmt.Sprintf("StudioUser/%s@", alice.Name))),
			HaveField("OnBehalfOf", ""),
		)))
	})
})
