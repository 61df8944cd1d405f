package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/store"
)

func storeUser(name string) func() (store.User, error) {
	return func() (store.User, error) { return studio.Service().GetUser(ctx(), name) }
}

// storeErrors reads the operator's error counter for one operation and code.
func storeErrors(op string, code store.Code) float64 {
	m := &dto.Metric{}
	Expect(metrics.StoreRequestErrors.WithLabelValues(op, string(code)).Write(m)).To(Succeed())
	return m.GetCounter().GetValue()
}

var _ = Describe("User lifecycle", func() {
	var (
		home string
		acme *iamv1.Agency
		prod *iamv1.Environment
	)
	BeforeEach(func() {
		home = newNamespace(nil)
		acme = newAgency(home)
		prod = newEnvironment(home, acme.Name)
	})

	It("revokes everything when a user is deleted, and leaves an orphaned one alone", func() {
		gone := newUser()
		kept := newUser(func(u *iamv1.StudioUser) { u.Spec.DeletionPolicy = iamv1.DeletionPolicyOrphan })
		newBinding(home, onEnvironment(prod), names(gone, kept), iamv1.RoleOperator)
		Eventually(storeRows(gone.Name)).Should(HaveLen(1))
		Eventually(storeRows(kept.Name)).Should(HaveLen(1))

		Expect(k8s.Delete(ctx(), gone)).To(Succeed())
		Expect(k8s.Delete(ctx(), kept)).To(Succeed())
		Eventually(func() error { return fetch(gone) }).Should(Satisfy(apierrorsIsNotFound))
		Eventually(func() error { return fetch(kept) }).Should(Satisfy(apierrorsIsNotFound))

		Expect(storeUser(gone.Name)()).To(HaveField("State", store.UserRemoved))
		Expect(storeRows(gone.Name)()).To(BeEmpty())
		Expect(auditCount(gone.Name, store.ActionUserRemoved)()).To(Equal(1))
		Expect(storeUser(kept.Name)()).To(HaveField("State", store.UserInvited))
		Expect(storeRows(kept.Name)()).To(HaveLen(1))
	})

	It("suspends and restores access", func() {
		alice := newUser()
		newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleOperator)
		Eventually(accessOf(alice)).Should(HaveLen(1))

		Expect(fetch(alice)).To(Succeed())
		alice.Spec.Suspended = true
		Expect(k8s.Update(ctx(), alice)).To(Succeed())
		Eventually(conditionOf(alice, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSuspended))
		Expect(alice.Status.State).To(Equal(iamv1.UserStateSuspended))
		Expect(alice.Status.Access).To(BeEmpty())
		Expect(alice.Status.Environments).To(BeZero())
		Expect(storeUser(alice.Name)()).To(HaveField("Suspended", true))
		Expect(storeRows(alice.Name)()).To(BeEmpty())
		grants, err := studio.Service().GetGrants(ctx(), alice.Name)
		Expect(err).NotTo(HaveOccurred())
		Expect(grants.Grants).To(HaveLen(1), "grants are kept while suspended")
		Eventually(eventsFor(alice)).Should(ContainElement(controllers.EventAccessRevoked))
		expectCurrent(alice)

		alice.Spec.Suspended = false
		Expect(k8s.Update(ctx(), alice)).To(Succeed())
		Eventually(accessOf(alice)).Should(HaveLen(1))
		Expect(alice.Status.State).NotTo(Equal(iamv1.UserStateSuspended))
		Eventually(storeRows(alice.Name)).Should(HaveLen(1))
	})

	It("corrects changes made in the Studio behind its back at the next resync", func() {
		alice := newUser()
		newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleAgent)
		Eventually(conditionOf(alice, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonSucceeded))
		Eventually(storeRows(alice.Name)).Should(HaveLen(1))
		declared, err := studio.Service().GetGrants(ctx(), alice.Name)
		Expect(err).NotTo(HaveOccurred())

		By("a person renames the user and makes it an administrator of the agency")
		u, err := person.GetUser(ctx(), alice.Name)
		Expect(err).NotTo(HaveOccurred())
		spec := u.Spec()
		spec.DisplayName = "Mallory"
		_, _, err = person.PutUser(ctx(), store.Caller{}, alice.Name, spec)
		Expect(err).NotTo(HaveOccurred())
		_, err = person.PutGrants(ctx(), store.Caller{}, alice.Name, append(declared.Grants,
			store.Grant{Scope: store.Scope{Agency: acme.Name}, Roles: []cascade.Role{cascade.Administrator}}))
		Expect(err).NotTo(HaveOccurred())

		Eventually(storeUser(alice.Name), 2*resyncPeriod+5*time.Second).Should(HaveField("DisplayName", alice.Spec.DisplayName))
		Eventually(func() ([]store.Grant, error) {
			g, err := studio.Service().GetGrants(ctx(), alice.Name)
			return g.Grants, err
		}).Should(Equal(declared.Grants))
		Expect(auditCount(alice.Name, store.ActionDriftCorrected)()).To(BeNumerically(">=", 2), "profile and grants")
		Eventually(eventsFor(alice)).Should(ContainElement(controllers.EventDriftCorrected))
	})

	It("writes nothing at all when nothing changed", func() {
		alice := newUser()
		b := newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleAgent)
		objs := []client.Object{acme, prod, alice, b}
		expectCurrent(objs...)
		Eventually(mailsTo(alice)).Should(Equal(1))
		// Let the last writes of the convergence (events, the invitation) settle.
		time.Sleep(500 * time.Millisecond)

		versions := func() []string {
			var out []string
			for _, o := range objs {
				Expect(fetch(o)).To(Succeed())
				out = append(out, o.GetResourceVersion())
			}
			return out
		}
		audit := func() (int, error) {
			page, err := studio.Service().ListAudit(ctx(), store.AuditFilter{Agency: acme.Name, Limit: 1000})
			if err != nil {
				return 0, err
			}
			users, err := studio.Audit(ctx(), alice.Name)
			return len(page.Entries) + len(users), err
		}
		before, auditBefore := versions(), must(audit())
		putsBefore := storeRequests()

		time.Sleep(2*resyncPeriod + time.Second)
		Expect(versions()).To(Equal(before), "no status or metadata writes")
		Expect(audit()).To(Equal(auditBefore), "no store writes")
		Expect(storeRequests()-putsBefore).To(BeZero(), "not even a no-op write")
	})

	It("waits out a store outage and converges by itself", func() {
		Expect(studio.Stop()).To(Succeed())
		DeferCleanup(studio.Resume)
		alice := newUser()
		newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleAgent)
		Eventually(conditionOf(alice, iamv1.ConditionReady)).Should(haveReason(metav1.ConditionFalse, iamv1.ReasonStoreUnavailable))
		Expect(kstatusOf(alice)).To(Equal(status.InProgressStatus))
		Expect(alice.Status.Access).To(BeEmpty(), "nothing is claimed while the store is down")

		Expect(studio.Resume()).To(Succeed())
		Eventually(accessOf(alice)).Should(HaveLen(1))
		Eventually(storeRows(alice.Name)).Should(HaveLen(1))
		expectCurrent(alice, prod, acme)
	})

	It("revokes what the bindings no longer give even while the store refuses the profile", func() {
		ana := newUser()
		b := newBinding(home, onEnvironment(prod), names(ana), iamv1.RoleAnalyst)
		Eventually(storeRows(ana.Name)).Should(HaveLen(1))

		By("a manager whose store refuses ana's new display name (fault injection)")
		manager.stop()
		manager = startManager(refusingDisplayName{API: operatorStore, name: "Refused"})
		DeferCleanup(func() {
			manager.stop()
			manager = startManager(operatorStore)
		})
		Expect(k8s.Patch(ctx(), ana, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"displayName":"Refused"}}`)))).To(Succeed())
		Eventually(conditionOf(ana, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonStoreRejected))

		By("the binding goes: the revocation does not wait for the profile")
		Expect(k8s.Delete(ctx(), b)).To(Succeed())
		Eventually(storeRows(ana.Name)).Should(BeEmpty())
		Eventually(accessOf(ana)).Should(BeEmpty(), "status claims no access the store no longer holds")
		Expect(conditionOf(ana, iamv1.ConditionStalled)()).To(haveReason(metav1.ConditionTrue, iamv1.ReasonStoreRejected))
	})

	It("stalls on conflicts in the store, without a hot loop", func() {
		first := newUser()
		Eventually(storeUser(first.Name)).Should(HaveField("Email", first.Spec.Email), "the first one is recorded before its twin exists")
		twin := newUser(func(u *iamv1.StudioUser) { u.Spec.Email = first.Spec.Email })
		Eventually(conditionOf(twin, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonEmailInUse))
		Expect(conditionOf(twin, iamv1.ConditionReady)()).To(haveReason(metav1.ConditionFalse, iamv1.ReasonEmailInUse))
		Expect(kstatusOf(twin)).To(Equal(status.FailedStatus))
		Eventually(eventsFor(twin)).Should(ContainElement(controllers.EventStalled))

		By("a binding naming both says the Studio holds its roles for the first only")
		both := newBinding(home, onEnvironment(prod), names(first, twin), iamv1.RoleAgent)
		Eventually(func() ([]iamv1.SubjectStatus, error) {
			err := fetch(both)
			return both.Status.Subjects, err
		}).Should(ConsistOf(
			And(HaveField("Name", first.Name), HaveField("Applied", true)),
			And(HaveField("Name", twin.Name), HaveField("Applied", false),
				HaveField("Reason", iamv1.ReasonUserNotRecorded), HaveField("Message", ContainSubstring(iamv1.ReasonEmailInUse))),
		))
		Expect(conditionOf(both, iamv1.ConditionStalled)()).To(haveReason(metav1.ConditionTrue, iamv1.ReasonUserNotRecorded))
		_, err := studio.Service().GetGrants(ctx(), twin.Name)
		Expect(store.IsCode(err, store.CodeNotFound)).To(BeTrue(), "the Studio has no record of the twin: %v", err)
		failures := storeErrors("PutUser", store.CodeEmailInUse)
		time.Sleep(resyncPeriod + time.Second)
		Expect(storeErrors("PutUser", store.CodeEmailInUse)-failures).To(BeNumerically("<=", 2), "retried at the resync period, not in a loop")

		By("another operator instance owns the record")
		other, err := studio.Client("other-instance", nil)
		Expect(err).NotTo(HaveOccurred())
		taken := uniq("taken")
		_, _, err = other.PutUser(ctx(), store.Caller{}, taken, store.UserSpec{Email: taken + "@example.com", Type: cascade.UserTypeUser})
		Expect(err).NotTo(HaveOccurred())
		theirs := newUser(func(u *iamv1.StudioUser) {
			u.Name = taken
			u.Spec.Email = taken + "@example.com"
			u.Spec.DisplayName = "Ours"
		})
		Eventually(conditionOf(theirs, iamv1.ConditionStalled)).Should(haveReason(metav1.ConditionTrue, iamv1.ReasonManagedByOther))
		Expect(storeUser(taken)()).To(HaveField("ManagedBy", "other-instance"))
	})
})

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}

// storeRequests counts the operator's store writes so far (all operations that are
// not reads).
func storeRequests() float64 {
	var total float64
	for _, op := range []string{"PutAgency", "PutEnvironment", "PutUser", "PutGrants", "SendInvitation", "RemoveUser", "DeleteAgency", "DeleteEnvironment"} {
		for _, code := range []string{"ok"} {
			m := &dto.Metric{}
			h, err := metrics.StoreRequestDuration.GetMetricWithLabelValues(op, code)
			Expect(err).NotTo(HaveOccurred())
			Expect(h.(interface{ Write(*dto.Metric) error }).Write(m)).To(Succeed())
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// refusingDisplayName is the operator's store, refusing one display name as invalid.
type refusingDisplayName struct {
	store.API
	name string
}

func (r refusingDisplayName) PutUser(ctx context.Context, c store.Caller, key string, spec store.UserSpec) (store.User, store.Outcome, error) {
	if spec.DisplayName == r.name {
		return store.User{}, "", store.Errorf(store.CodeInvalid, "displayName", "refused by the test")
	}
	return r.API.PutUser(ctx, c, key, spec)
}
