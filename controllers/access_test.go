package controllers_test

import (
	"fmt"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// access is an expected status.access entry.
func access(e *iamv1.Environment, agency string, src iamv1.AccessSource, bindings []string, roles ...iamv1.Role) iamv1.EnvironmentAccess {
	return iamv1.EnvironmentAccess{Environment: envRef(e), Agency: agency, Roles: roles, Source: src, Bindings: bindings}
}

func refOf(b *iamv1.RoleBinding) string { return b.Namespace + "/" + b.Name }

func refs(bs ...*iamv1.RoleBinding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = refOf(b)
	}
	return out
}

// storeRow is the part of the store's access view the specs compare.
func storeRow(e *iamv1.Environment, src cascade.Source, roles ...cascade.Role) types_storeRow {
	return types_storeRow{Environment: envKey(e), Source: src, Roles: roles}
}

type types_storeRow struct {
	Environment string
	Source      cascade.Source
	Roles       []cascade.Role
}

func storeRows(name string) func() ([]types_storeRow, error) {
	return func() ([]types_storeRow, error) {
		envs, err := storeAccess(name)()
		var out []types_storeRow
		for _, e := range envs {
			out = append(out, types_storeRow{Environment: e.Environment, Source: e.Source, Roles: e.Roles})
		}
		return out, err
	}
}

var _ = Describe("Effective access", func() {
	var (
		home      string
		acme      *iamv1.Agency
		prod, dev *iamv1.Environment
	)
	BeforeEach(func() {
		home = newNamespace(nil)
		acme = newAgency(home)
		prod = newEnvironment(home, acme.Name)
		dev = newEnvironment(home, acme.Name)
	})

	It("ripples agency roles down to every environment of the agency", func() {
		alice := newUser()
		analysts := newBinding(home, onAgency(acme), names(alice), iamv1.RoleAnalyst)

		Eventually(accessOf(alice)).Should(ConsistOf(
			access(prod, acme.Name, iamv1.AccessSourceAgency, refs(analysts), iamv1.RoleAnalyst),
			access(dev, acme.Name, iamv1.AccessSourceAgency, refs(analysts), iamv1.RoleAnalyst),
		))
		Expect(alice.Status.Environments).To(BeEquivalentTo(2))
		Eventually(storeRows(alice.Name)).Should(ConsistOf(
			storeRow(prod, cascade.SourceAgency, cascade.Analyst),
			storeRow(dev, cascade.SourceAgency, cascade.Analyst),
		))
		expectCurrent(acme, prod, dev, alice, analysts)
		Expect(fetch(alice)).To(Succeed())
		Expect(alice.Status.StudioID).To(Equal(alice.Name))
		Expect(alice.Status.State).To(Equal(iamv1.UserStateInvited))
		Expect(alice.Status.CreatedAt).NotTo(BeNil())
		Expect(alice.Status.ObservedGeneration).To(Equal(alice.Generation))
		Expect(fetch(analysts)).To(Succeed())
		Expect(analysts.Status.Agency).To(Equal(acme.Name))
		Expect(analysts.Status.Subjects).To(Equal([]iamv1.SubjectStatus{{Name: alice.Name, Applied: true}}))
		Expect(fetch(prod)).To(Succeed())
		Expect(prod.Status.StudioKey).To(Equal(envKey(prod)))
		Expect(prod.Status.Agency).To(Equal(acme.Name))
		Expect(fetch(acme)).To(Succeed())
		Expect(acme.Status.Environments).To(BeEquivalentTo(2))
	})

	It("lets environment roles override the agency's, and an empty binding block them", func() {
		alice := newUser()
		analysts := newBinding(home, onAgency(acme), names(alice), iamv1.RoleAnalyst)
		prodOps := newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleOperator)
		noDev := newBinding(home, onEnvironment(dev), names(alice))

		Eventually(accessOf(alice)).Should(Equal([]iamv1.EnvironmentAccess{
			access(prod, acme.Name, iamv1.AccessSourceEnvironment, refs(prodOps), iamv1.RoleOperator),
		}))
		Eventually(storeRows(alice.Name)).Should(ConsistOf(storeRow(prod, cascade.SourceEnvironment, cascade.Operator)))
		grants, err := studio.Service().GetGrants(ctx(), alice.Name)
		Expect(err).NotTo(HaveOccurred())
		Expect(grants.Grants).To(ConsistOf(
			store.Grant{Scope: store.Scope{Agency: acme.Name}, Roles: []cascade.Role{cascade.Analyst}},
			store.Grant{Scope: store.Scope{Environment: envKey(prod)}, Roles: []cascade.Role{cascade.Operator}},
			HaveField("Scope", store.Scope{Environment: envKey(dev)}),
		))
		expectCurrent(alice, analysts, prodOps, noDev)

		By("removing the block, the agency's roles come back")
		Expect(k8s.Delete(ctx(), noDev)).To(Succeed())
		Eventually(accessOf(alice)).Should(ConsistOf(
			access(prod, acme.Name, iamv1.AccessSourceEnvironment, refs(prodOps), iamv1.RoleOperator),
			access(dev, acme.Name, iamv1.AccessSourceAgency, refs(analysts), iamv1.RoleAnalyst),
		))
		Eventually(func() error { return fetch(noDev) }).Should(Satisfy(apierrorsIsNotFound))
	})

	It("unites the roles of several bindings", func() {
		alice, bob := newUser(), newUser()
		one := newBinding(home, onEnvironment(prod), names(alice, bob), iamv1.RoleAnalyst, iamv1.RoleDeveloper)
		two := newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleContentManager)

		Eventually(accessOf(alice)).Should(Equal([]iamv1.EnvironmentAccess{
			access(prod, acme.Name, iamv1.AccessSourceEnvironment, refs(one, two),
				iamv1.RoleAnalyst, iamv1.RoleContentManager, iamv1.RoleDeveloper),
		}))
		Eventually(accessOf(bob)).Should(Equal([]iamv1.EnvironmentAccess{
			access(prod, acme.Name, iamv1.AccessSourceEnvironment, refs(one), iamv1.RoleAnalyst, iamv1.RoleDeveloper),
		}))
		Eventually(storeRows(alice.Name)).Should(ConsistOf(
			storeRow(prod, cascade.SourceEnvironment, cascade.Analyst, cascade.ContentManager, cascade.Developer)))
	})

	It("gives Agent-type users only Agent and Operator, and the binding says so", func() {
		ann := newUser(func(u *iamv1.StudioUser) { u.Spec.Type = iamv1.UserTypeAgent })
		b := newBinding(home, onEnvironment(prod), names(ann), iamv1.RoleOperator, iamv1.RoleAnalyst)

		Eventually(accessOf(ann)).Should(Equal([]iamv1.EnvironmentAccess{
			access(prod, acme.Name, iamv1.AccessSourceEnvironment, refs(b), iamv1.RoleOperator),
		}))
		Eventually(storeRows(ann.Name)).Should(ConsistOf(storeRow(prod, cascade.SourceEnvironment, cascade.Operator)))
		grants, err := studio.Service().GetGrants(ctx(), ann.Name)
		Expect(err).NotTo(HaveOccurred())
		Expect(grants.Grants).To(Equal([]store.Grant{{Scope: store.Scope{Environment: envKey(prod)}, Roles: []cascade.Role{cascade.Operator}}}))
		Eventually(conditionOf(b, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonRolesNotAllowedForAgent))
		Expect(b.Status.Subjects).To(ConsistOf(And(
			HaveField("Name", ann.Name), HaveField("Applied", true),
			HaveField("Reason", iamv1.ReasonRolesNotAllowedForAgent), HaveField("Message", ContainSubstring("Analyst")))))
	})

	It("says which roles stopped applying when a user's type changes to Agent", func() {
		pat := newUser()
		b := newBinding(home, onEnvironment(prod), names(pat), iamv1.RolePlanner)
		Eventually(accessOf(pat)).Should(HaveLen(1))

		Expect(fetch(pat)).To(Succeed())
		pat.Spec.Type = iamv1.UserTypeAgent
		Expect(k8s.Update(ctx(), pat)).To(Succeed())
		Eventually(accessOf(pat)).Should(BeEmpty())
		Eventually(conditionOf(pat, iamv1.ConditionReady)).Should(And(
			haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded),
			HaveField("Message", And(ContainSubstring("access to 0 environments"),
				ContainSubstring(fmt.Sprintf("Planner (RoleBinding %s/%s)", b.Namespace, b.Name)))),
		))
	})

	It("reports bindings whose references do not resolve, and applies them once they do", func() {
		alice := newUser()
		missing := uniq("nobody")
		b := newBinding(home, iamv1.BindingScope{Environment: "later"}, []string{alice.Name, missing}, iamv1.RoleAnalyst)
		Eventually(conditionOf(b, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonEnvironmentNotFound))
		Expect(kstatusOf(b)).To(BeEquivalentTo("Failed"))
		Consistently(accessOf(alice), "1s").Should(BeEmpty())

		later := newEnvironment(home, acme.Name, func(e *iamv1.Environment) { e.Name = "later" })
		Eventually(accessOf(alice)).Should(Equal([]iamv1.EnvironmentAccess{
			access(later, acme.Name, iamv1.AccessSourceEnvironment, refs(b), iamv1.RoleAnalyst),
		}))
		Eventually(conditionOf(b, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonUserNotFound))

		newUser(func(u *iamv1.StudioUser) { u.Name = missing })
		Eventually(conditionOf(b, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		expectCurrent(b)
	})

	It("refuses agency-scoped bindings outside the agency's home namespace", func() {
		other := newNamespace(nil)
		alice := newUser()
		b := newBinding(other, onAgency(acme), names(alice), iamv1.RoleAdministrator)
		Eventually(conditionOf(b, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonScopeNotAllowed))
		Eventually(conditionOf(alice, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		Expect(alice.Status.Access).To(BeEmpty())
		Expect(storeRows(alice.Name)()).To(BeEmpty())
	})
})

func apierrorsIsNotFound(err error) bool { return client.IgnoreNotFound(err) == nil && err != nil }
