package controllers_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/storeserver/teststore"
)

// withStore runs the rest of the spec with the manager on a store of its own, started
// with opts, and puts the suite's store back afterwards.
func withStore(opts teststore.Options) *teststore.Store {
	GinkgoHelper()
	own, err := teststore.StartWith(GinkgoT().TempDir(), opts)
	Expect(err).NotTo(HaveOccurred())
	c, err := own.Client(instanceID, metrics.ObserveStoreRequest)
	Expect(err).NotTo(HaveOccurred())
	manager.stop()
	manager = startManager(c)
	DeferCleanup(func() {
		manager.stop()
		manager = startManager(operatorStore)
		Expect(own.Close()).To(Succeed())
	})
	return own
}

var _ = Describe("Invitations that never silently die", func() {
	It("sees expiry without a resend, renews up to spec.invitation.autoRenew, then reports Expired", func() {
		own := withStore(teststore.Options{InvitationTTL: 2 * time.Second})
		home := newNamespace(nil)
		acme := newAgency(home)
		prod := newEnvironment(home, acme.Name)
		renewing := newUser(func(u *iamv1.StudioUser) { u.Spec.Invitation.AutoRenew = &iamv1.AutoRenew{MaxRenewals: 2} })
		plain := newUser()
		newBinding(home, onEnvironment(prod), names(renewing, plain), iamv1.RoleAgent)

		By("without autoRenew the expiry shows within a resync: Expired, condition and a Warning event")
		Eventually(conditionOf(plain, iamv1.ConditionInvitationExpired), 15*time.Second).
			Should(haveReason(metav1.ConditionTrue, iamv1.ReasonInvitationExpired))
		Expect(plain.Status.Invitation.State).To(Equal(iamv1.InvitationExpired))
		Expect(plain.Status.Invitation.SendCount).To(Equal(int32(1)))
		Eventually(eventsFor(plain)).Should(ContainElement(controllers.EventInvitationExpired))

		By("with maxRenewals 2 it is sent three times in all, each once, then reported Expired")
		Eventually(conditionOf(renewing, iamv1.ConditionInvitationExpired), 30*time.Second).
			Should(haveReason(metav1.ConditionTrue, iamv1.ReasonRenewalsExhausted))
		inv := renewing.Status.Invitation
		Expect(inv.State).To(Equal(iamv1.InvitationExpired))
		Expect(inv.Renewals).To(Equal(int32(2)))
		Expect(inv.SendCount).To(Equal(int32(3)))
		mails := func(u *iamv1.StudioUser) func() (int, error) {
			return func() (int, error) { return own.MailsTo(u.Spec.Email) }
		}
		Eventually(mails(renewing)).Should(Equal(3))
		Consistently(mails(renewing), 2*resyncPeriod+time.Second).Should(Equal(3), "no send beyond the cap")
		Expect(mails(plain)()).To(Equal(1))
		Expect(fetch(renewing)).To(Succeed())
		Expect(renewing.Status.Invitation.SendCount).To(Equal(int32(3)), "sendCount matches the mails")

		By("a requested resend sends a new invitation and clears the condition")
		renewing.Spec.Invitation.Resend = 1
		Expect(k8s.Update(ctx(), renewing)).To(Succeed())
		Eventually(mails(renewing)).Should(Equal(4))
		Eventually(invitationOf(renewing)).Should(And(HaveField("ResendObserved", int32(1)), HaveField("Renewals", int32(0))))
	})

	It("shows an invitation email the Studio gave up delivering, with the reply class and never the address", func() {
		withStore(teststore.Options{Refuse: func(to string) bool { return strings.HasSuffix(to, "@bounce.example.com") }})
		home := newNamespace(nil)
		acme := newAgency(home)
		prod := newEnvironment(home, acme.Name)
		bounced := newUser(func(u *iamv1.StudioUser) { u.Spec.Email = u.Name + "@bounce.example.com" })
		fine := newUser()
		newBinding(home, onEnvironment(prod), names(bounced, fine), iamv1.RoleAgent)

		Eventually(conditionOf(bounced, iamv1.ConditionInvitationUndeliverable), 15*time.Second).
			Should(haveReason(metav1.ConditionTrue, iamv1.ReasonUndeliverable))
		c, _ := conditionOf(bounced, iamv1.ConditionInvitationUndeliverable)()
		Expect(c.Message).To(ContainSubstring("5xx permanent"))
		Expect(c.Message).NotTo(ContainSubstring("bounce.example.com"))
		Expect(bounced.Status.Invitation.State).To(Equal(iamv1.InvitationPending))
		Eventually(eventsFor(bounced)).Should(ContainElement(controllers.EventInvitationUndeliverable))
		Consistently(conditionOf(fine, iamv1.ConditionInvitationUndeliverable), 2*resyncPeriod).Should(BeNil())
	})
})
