package controllers_test

import (
	"encoding/json"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/storeserver/teststore"
)

func mailsTo(u *iamv1.StudioUser) func() (int, error) {
	return func() (int, error) { return studio.MailsTo(u.Spec.Email) }
}

func auditCount(user, action string) func() (int, error) {
	return func() (int, error) {
		entries, err := studio.Audit(ctx(), user)
		return teststore.CountActions(entries, action), err
	}
}

func invitationOf(u *iamv1.StudioUser) func() (*iamv1.InvitationStatus, error) {
	return func() (*iamv1.InvitationStatus, error) {
		err := fetch(u)
		return u.Status.Invitation, err
	}
}

func linkOf(u *iamv1.StudioUser) string {
	GinkgoHelper()
	sec := &corev1.Secret{}
	Expect(k8s.Get(ctx(), types.NamespacedName{Namespace: secretsNamespace, Name: controllers.InvitationSecretName(u.Name)}, sec)).To(Succeed())
	return string(sec.Data[controllers.InvitationLinkKey])
}

// eventsFor returns the reasons of the events about obj.
func eventsFor(obj client.Object) func() ([]string, error) {
	return func() ([]string, error) {
		var l eventsv1.EventList
		if err := k8s.List(ctx(), &l); err != nil {
			return nil, err
		}
		var reasons []string
		for _, e := range l.Items {
			if e.Regarding.Name == obj.GetName() && e.Regarding.Kind == kindOf(obj) {
				reasons = append(reasons, e.Reason)
			}
		}
		return reasons, nil
	}
}

var _ = Describe("Invitations", func() {
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

	It("invites once the user has a role, re-sends on request and withdraws on removal", func() {
		alice := newUser()
		Eventually(invitationOf(alice)).Should(HaveField("State", iamv1.InvitationNotSent))
		Expect(mailsTo(alice)()).To(BeZero(), "no role, no invitation")

		newBinding(home, onEnvironment(prod), names(alice), iamv1.RoleAgent)
		Eventually(mailsTo(alice)).Should(Equal(1))
		Eventually(invitationOf(alice)).Should(And(
			HaveField("State", iamv1.InvitationPending),
			HaveField("SendCount", BeEquivalentTo(1)),
			HaveField("ResendObserved", BeEquivalentTo(0)),
			HaveField("SentAt", Not(BeNil())),
			HaveField("ExpiresAt", Not(BeNil())),
			HaveField("LinkSecretRef", Equal(&iamv1.SecretReference{
				Namespace: secretsNamespace, Name: "studio-invitation-" + alice.Name})),
		))
		first := linkOf(alice)
		Expect(first).To(HavePrefix(studio.URL + "/invite/"))
		raw, err := json.Marshal(alice)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).NotTo(ContainSubstring(first[len(studio.URL+"/invite/"):]), "the link is only in the Secret")
		Eventually(eventsFor(alice)).Should(ContainElement(controllers.EventInvitationSent))

		By("resyncs send nothing more")
		Consistently(mailsTo(alice), resyncPeriod+time.Second).Should(Equal(1))
		Expect(auditCount(alice.Name, store.ActionInvitationSent)()).To(Equal(1))

		By("bumping resend sends a new link once")
		Expect(fetch(alice)).To(Succeed())
		alice.Spec.Invitation.Resend = 1
		Expect(k8s.Update(ctx(), alice)).To(Succeed())
		Eventually(mailsTo(alice)).Should(Equal(2))
		Eventually(invitationOf(alice)).Should(And(
			HaveField("SendCount", BeEquivalentTo(2)), HaveField("ResendObserved", BeEquivalentTo(1))))
		Eventually(func() string { return linkOf(alice) }).ShouldNot(Equal(first))
		_, err = studio.Service().LookupInvitation(ctx(), first[strings.LastIndex(first, "/")+1:])
		Expect(store.IsCode(err, store.CodeInvitationGone)).To(BeTrue(), "the old link stops working: %v", err)
		Consistently(mailsTo(alice), resyncPeriod+time.Second).Should(Equal(2))
		Expect(auditCount(alice.Name, store.ActionInvitationSent)()).To(Equal(2))

		By("removing the user withdraws the pending invitation and deletes the Secret")
		Expect(k8s.Delete(ctx(), alice)).To(Succeed())
		Eventually(func() error { return fetch(alice) }).Should(Satisfy(apierrorsIsNotFound))
		Expect(auditCount(alice.Name, store.ActionInvitationWithdrawn)()).To(Equal(1))
		stored, err := studio.Service().GetUser(ctx(), alice.Name)
		Expect(err).NotTo(HaveOccurred())
		Expect(stored.State).To(Equal(store.UserRemoved))
		err = k8s.Get(ctx(), types.NamespacedName{Namespace: secretsNamespace, Name: controllers.InvitationSecretName(alice.Name)}, &corev1.Secret{})
		Expect(apierrorsIsNotFound(err)).To(BeTrue())
	})

	It("does not invite users who sign in through SSO", func() {
		sso := newUser(func(u *iamv1.StudioUser) { u.Spec.Invitation.Send = ptr.To(false) })
		newBinding(home, onEnvironment(prod), names(sso), iamv1.RoleAgent)
		Eventually(accessOf(sso)).Should(HaveLen(1))
		Expect(sso.Status.Invitation).To(HaveField("State", iamv1.InvitationNotSent))
		Consistently(mailsTo(sso), "1s").Should(BeZero())
		expectCurrent(sso)
	})

	It("never sends twice across a manager restart, even when the status was lost", func() {
		bob := newUser()
		newBinding(home, onEnvironment(prod), names(bob), iamv1.RoleAgent)
		Eventually(mailsTo(bob)).Should(Equal(1))
		Eventually(invitationOf(bob)).Should(HaveField("SendCount", BeEquivalentTo(1)))

		By("stopping the manager and losing the record of the invitation, as a crash before the status write would")
		manager.stop()
		base := bob.DeepCopy()
		bob.Status.Invitation = nil
		Expect(k8s.Status().Patch(ctx(), bob, client.MergeFrom(base))).To(Succeed())
		Expect(fetch(bob)).To(Succeed())
		Expect(bob.Status.Invitation).To(BeNil())

		By("a new manager sends the same request again, and the store sends nothing")
		manager = startManager(operatorStore)
		Eventually(invitationOf(bob)).Should(And(
			HaveField("State", iamv1.InvitationPending), HaveField("SendCount", BeEquivalentTo(1))))
		Consistently(mailsTo(bob), resyncPeriod+time.Second).Should(Equal(1))
		Expect(auditCount(bob.Name, store.ActionInvitationSent)()).To(Equal(1))
	})

	It("follows the invitation to Accepted and drops the link", func() {
		carol := newUser()
		newBinding(home, onEnvironment(prod), names(carol), iamv1.RoleAgent)
		Eventually(mailsTo(carol)).Should(Equal(1))
		Eventually(invitationOf(carol)).Should(HaveField("LinkSecretRef", Not(BeNil())))
		link := linkOf(carol)
		_, err := studio.Service().AcceptInvitation(ctx(), link[strings.LastIndex(link, "/")+1:])
		Expect(err).NotTo(HaveOccurred())

		Eventually(invitationOf(carol), 2*resyncPeriod+5*time.Second).Should(And(
			HaveField("State", iamv1.InvitationAccepted), HaveField("LinkSecretRef", BeNil())))
		Expect(carol.Status.State).To(Equal(iamv1.UserStateActive))
		err = k8s.Get(ctx(), types.NamespacedName{Namespace: secretsNamespace, Name: controllers.InvitationSecretName(carol.Name)}, &corev1.Secret{})
		Expect(apierrorsIsNotFound(err)).To(BeTrue())
		Expect(mailsTo(carol)()).To(Equal(1))
	})
})
