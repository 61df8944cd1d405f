package controllers_test

import (
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// storeState is what the store holds about some users: record and grants.
type storeState struct {
	users  map[string]*store.User
	grants map[string][]store.Grant
	audit  int
}

func readStoreState(agency string, users ...string) storeState {
	GinkgoHelper()
	s := storeState{users: map[string]*store.User{}, grants: map[string][]store.Grant{}}
	for _, name := range users {
		u, err := studio.Service().GetUser(ctx(), name)
		if store.IsNotFound(err) {
			continue
		}
		Expect(err).NotTo(HaveOccurred())
		s.users[name] = &u
		g, err := studio.Service().GetGrants(ctx(), name)
		Expect(err).NotTo(HaveOccurred())
		s.grants[name] = g.Grants
		entries, err := studio.Audit(ctx(), name)
		Expect(err).NotTo(HaveOccurred())
		s.audit += len(entries)
	}
	page, err := studio.Service().ListAudit(ctx(), store.AuditFilter{Agency: agency, Limit: 1000})
	Expect(err).NotTo(HaveOccurred())
	s.audit += len(page.Entries)
	return s
}

// applyPlan is what the store should hold after Full carried out plan: the grants
// with each scope's roles added and removed, blocks written and deleted.
func applyPlan(held []store.Grant, plan *iamv1.PlannedChanges) []store.Grant {
	roles := map[store.Scope][]cascade.Role{}
	for _, g := range held {
		roles[g.Scope] = slices.Clone(g.Roles)
	}
	for _, c := range plan.Grants {
		sc := store.Scope{Agency: c.Agency}
		if c.Environment != "" {
			sc = store.Scope{Environment: strings.Replace(c.Environment, "/", ".", 1)}
		}
		rs := roles[sc]
		for _, r := range c.Remove {
			rs = slices.DeleteFunc(rs, func(x cascade.Role) bool { return x == cascade.Role(r) })
		}
		for _, r := range c.Add {
			rs = append(rs, cascade.Role(r))
		}
		roles[sc] = rs
		if len(rs) == 0 && !c.Block {
			delete(roles, sc)
		}
	}
	var out []store.Grant
	for sc, rs := range roles {
		slices.Sort(rs)
		out = append(out, store.Grant{Scope: sc, Roles: rs})
	}
	slices.SortFunc(out, func(a, b store.Grant) int {
		ka, kb := a.Scope.Environment, b.Scope.Environment
		if a.Scope.Agency != "" {
			ka = " " + a.Scope.Agency
		}
		if b.Scope.Agency != "" {
			kb = " " + b.Scope.Agency
		}
		return strings.Compare(ka, kb)
	})
	return out
}

func planOf(u *iamv1.StudioUser) func() (*iamv1.PlannedChanges, error) {
	return func() (*iamv1.PlannedChanges, error) {
		err := fetch(u)
		return u.Status.Plan, err
	}
}

var _ = Describe("Observe: onboarding an existing Studio", func() {
	It("plans without writing, lists unmanaged users, and Full applies exactly the plan", func() {
		home := newNamespace(nil)
		agencyName, envName := uniq("agency"), uniq("env")
		envStoreKey := home + "." + envName
		alice, bob, carol, dave := uniq("alice"), uniq("bob"), uniq("carol"), uniq("dave")

		By("a Studio that already has the agency, its environment and three users")
		_, _, err := person.PutAgency(ctx(), store.Caller{}, agencyName, store.AgencySpec{DisplayName: "Agency"})
		Expect(err).NotTo(HaveOccurred())
		_, _, err = person.PutEnvironment(ctx(), store.Caller{}, envStoreKey, store.EnvironmentSpec{Agency: agencyName, DisplayName: "Bot"})
		Expect(err).NotTo(HaveOccurred())
		seed := func(key, name string, grants ...store.Grant) {
			_, _, err := person.PutUser(ctx(), store.Caller{}, key, store.UserSpec{Email: key + "@example.com", DisplayName: name, Type: cascade.UserTypeUser})
			Expect(err).NotTo(HaveOccurred())
			_, err = person.PutGrants(ctx(), store.Caller{}, key, grants)
			Expect(err).NotTo(HaveOccurred())
		}
		seed(alice, "Alice", store.Grant{Scope: store.Scope{Agency: agencyName}, Roles: []cascade.Role{cascade.Administrator, cascade.Planner}})
		seed(bob, "Bobby", store.Grant{Scope: store.Scope{Environment: envStoreKey}, Roles: []cascade.Role{cascade.Operator}})
		seed(carol, "Carol", store.Grant{Scope: store.Scope{Agency: agencyName}, Roles: []cascade.Role{cascade.Administrator}})
		before := readStoreState(agencyName, alice, bob, carol, dave)

		By("manifests for it under Observe: alice loses Administrator, bob is renamed and gains Planner, dave is new")
		ag := &iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: agencyName},
			Spec: iamv1.AgencySpec{DisplayName: "Agency", HomeNamespace: home, ManagementPolicy: iamv1.ManagementObserve}}
		create(ag)
		env := newEnvironmentNamed(home, envName, agencyName)
		user := func(key, name string) *iamv1.StudioUser {
			u := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: key}, Spec: iamv1.StudioUserSpec{Email: key + "@example.com", DisplayName: name}}
			create(u)
			return u
		}
		ua, ub, ud := user(alice, "Alice"), user(bob, "Bob"), user(dave, "Dave")
		newBinding(home, onAgency(ag), []string{alice}, iamv1.RolePlanner)
		newBinding(home, iamv1.BindingScope{Environment: envName}, []string{bob}, iamv1.RoleOperator, iamv1.RolePlanner)
		newBinding(home, iamv1.BindingScope{Environment: envName}, []string{dave}, iamv1.RolePlanner)

		Eventually(planOf(ua)).Should(Equal(&iamv1.PlannedChanges{
			Agencies: []string{agencyName}, Record: iamv1.PlannedAdopt, Invitation: true,
			Grants: []iamv1.GrantChange{{Agency: agencyName, Remove: []iamv1.Role{iamv1.RoleAdministrator}}},
		}))
		Eventually(planOf(ub)).Should(Equal(&iamv1.PlannedChanges{
			Agencies: []string{agencyName}, Record: iamv1.PlannedAdopt, Invitation: true,
			Profile: []iamv1.FieldChange{{Field: "displayName", From: "Bobby", To: "Bob"}},
			Grants:  []iamv1.GrantChange{{Agency: agencyName, Environment: home + "/" + envName, Add: []iamv1.Role{iamv1.RolePlanner}}},
		}))
		Eventually(planOf(ud)).Should(Equal(&iamv1.PlannedChanges{
			Agencies: []string{agencyName}, Record: iamv1.PlannedCreate, Invitation: true,
			Grants: []iamv1.GrantChange{{Agency: agencyName, Environment: home + "/" + envName, Add: []iamv1.Role{iamv1.RolePlanner}}},
		}))
		for _, u := range []*iamv1.StudioUser{ua, ub, ud} {
			Eventually(conditionOf(u, iamv1.ConditionPlanned)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonObserveOnly))
			Eventually(conditionOf(u, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonObserveOnly))
		}
		expectCurrent(ag, env, ua, ub, ud)
		Eventually(conditionOf(env, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonObserveOnly))

		By("the agency totals the plan and names the user no StudioUser names")
		Eventually(func() (*iamv1.AgencyPlan, error) {
			err := fetch(ag)
			if ag.Status.Plan == nil {
				return nil, err
			}
			p := *ag.Status.Plan
			p.PlanHash = ""
			return &p, err
		}).Should(Equal(&iamv1.AgencyPlan{UsersToCreate: 1, RecordsToAdopt: 2, UsersToUpdate: 1, UsersToRevoke: 1, InvitationsToSend: 3, EnvironmentsToRecord: 1}))
		Expect(ag.Status.Plan.PlanHash).To(HavePrefix("sha256:"))
		Eventually(func() (*iamv1.UnmanagedUsers, error) {
			err := fetch(ag)
			return ag.Status.UnmanagedUsers, err
		}).Should(Equal(&iamv1.UnmanagedUsers{Count: 1, Keys: []string{carol}}))

		By("while observing, nothing reaches the store, the mail or the cluster's Secrets")
		Consistently(func() storeState { return readStoreState(agencyName, alice, bob, carol, dave) }, 2*resyncPeriod+time.Second).
			Should(Equal(before))
		for _, key := range []string{alice, bob, dave} {
			Expect(studio.MailsTo(key + "@example.com")).To(BeZero())
			Expect(apierrorsIsNotFound(k8s.Get(ctx(), client.ObjectKey{Namespace: secretsNamespace, Name: controllers.InvitationSecretName(key)}, &corev1.Secret{}))).To(BeTrue())
		}
		plans := map[string]*iamv1.PlannedChanges{}
		for _, u := range []*iamv1.StudioUser{ua, ub, ud} {
			Expect(fetch(u)).To(Succeed())
			plans[u.Name] = u.Status.Plan
		}

		By("switching to Full applies exactly what the plan listed")
		Expect(fetch(ag)).To(Succeed())
		ag.Spec.ManagementPolicy = iamv1.ManagementFull
		Expect(k8s.Update(ctx(), ag)).To(Succeed())
		for _, u := range []*iamv1.StudioUser{ua, ub, ud} {
			Eventually(conditionOf(u, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
			Expect(meta.FindStatusCondition(u.Status.Conditions, iamv1.ConditionPlanned)).To(BeNil())
			Expect(u.Status.Plan).To(BeNil())
		}
		after := readStoreState(agencyName, alice, bob, carol, dave)
		for _, key := range []string{alice, bob, dave} {
			Expect(after.grants[key]).To(Equal(applyPlan(before.grants[key], plans[key])), "grants of %s", key)
			Expect(after.users[key].ManagedBy).To(Equal(instanceID))
			Eventually(mailsTo(&iamv1.StudioUser{Spec: iamv1.StudioUserSpec{Email: key + "@example.com"}})).Should(Equal(1), "the planned invitation of %s", key)
		}
		Expect(after.users[bob].DisplayName).To(Equal("Bob"))
		Expect(after.users[alice].DisplayName).To(Equal(before.users[alice].DisplayName), "no profile change was planned")
		Expect(before.users[dave]).To(BeNil())
		Expect(after.users[dave].DisplayName).To(Equal("Dave"))
		Expect(after.grants[carol]).To(Equal(before.grants[carol]), "the unmanaged user is never touched")
		Expect(after.users[carol].ManagedBy).To(BeEmpty())
		Eventually(func() (*iamv1.AgencyPlan, error) {
			err := fetch(ag)
			return ag.Status.Plan, err
		}).Should(BeNil())
		Eventually(conditionOf(ag, iamv1.ConditionPlanned)).Should(BeNil())
	})
})

func newEnvironmentNamed(ns, name, agency string) *iamv1.Environment {
	e := &iamv1.Environment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: agency}, DisplayName: "Bot"},
	}
	create(e)
	return e
}
