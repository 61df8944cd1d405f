package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
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
})
