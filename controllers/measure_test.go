//go:build measure

package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Convergence measures how long 100 users with 300 RoleBindings take to converge:
// from the first create until every user is Ready with its access and the store
// holds every grant. Run it with:
//
//	go test -tags measure ./controllers/ -ginkgo.focus Convergence -ginkgo.v
var _ = Describe("Convergence", func() {
	It("of 100 users and 300 bindings", func() {
		const users, envs = 100, 10
		start := time.Now()
		home := newNamespace(nil)
		acme := newAgency(home)
		var environments []*iamv1.Environment
		for range envs {
			environments = append(environments, newEnvironment(home, acme.Name))
		}
		var all []*iamv1.StudioUser
		for i := range users {
			u := newUser()
			all = append(all, u)
			// Three bindings per user: agency-wide, and two environments of its own.
			newBinding(home, onAgency(acme), names(u), iamv1.RoleAnalyst)
			newBinding(home, onEnvironment(environments[i%envs]), names(u), iamv1.RoleOperator)
			newBinding(home, onEnvironment(environments[(i+1)%envs]), names(u), iamv1.RoleAgent, iamv1.RoleDeveloper)
		}
		created := time.Since(start)

		Eventually(func() int {
			ready := 0
			for _, u := range all {
				if fetch(u) == nil && meta.IsStatusConditionTrue(u.Status.Conditions, iamv1.ConditionReady) &&
					u.Status.ObservedGeneration == u.Generation && len(u.Status.Access) == envs {
					ready++
				}
			}
			return ready
		}, 5*time.Minute, time.Second).Should(Equal(users))
		converged := time.Since(start)
		for _, u := range all {
			g, err := studio.Service().GetGrants(ctx(), u.Name)
			Expect(err).NotTo(HaveOccurred())
			Expect(g.Grants).To(HaveLen(3))
			Expect(g.Grants[0].Scope).To(Equal(store.Scope{Agency: acme.Name}))
		}
		msg := fmt.Sprintf("100 users / 300 bindings / %d environments: objects created in %v, all converged %v after the first create",
			envs, created.Round(time.Millisecond), converged.Round(time.Millisecond))
		AddReportEntry("convergence", msg)
		fmt.Fprintln(GinkgoWriter, msg)
	})
})
