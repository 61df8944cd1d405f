package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// The invitation-link Secret.
const (
	// InvitationSecretPrefix + the StudioUser's name is the Secret's name.
	InvitationSecretPrefix = "studio-invitation-"
	// InvitationLinkKey is the Secret's data key holding the link.
	InvitationLinkKey = "link"
	// LabelInvitationFor marks invitation-link Secrets, for cleanup and listing.
	LabelInvitationFor = "iam.studio-operator.io/invitation-link"
	// AnnotationStudioUser names the StudioUser whose link a Secret holds (a label
	// value would be too short for every valid name).
	AnnotationStudioUser = "iam.studio-operator.io/studiouser"
	labelManagedBy       = "app.kubernetes.io/managed-by"
)

// reconcileInvitation sends the invitation when planner.PlanInvitation says it is due
// (first one once the user has a role, another per resend bump), with an idempotency
// key derived from the object's UID and the resend counter: a retry or a restart
// repeats the same request and the store sends no second email. The link goes only
// into the Secret, then status.invitation records the send (and run.invited, for the
// event). Otherwise a pending invitation's state is refreshed (Accepted, Expired,
// Withdrawn).
func (r *StudioUserReconciler) reconcileInvitation(ctx context.Context, run *userRun) outcome {
	u := run.u
	// The cache may not show our own last status write yet; the memory of the sends
	// of this process does, so the decision, the event and the metric stay exact.
	current := r.invitations.newest(u.UID, u.Status.Invitation)
	var maxRenewals int32
	if ar := u.Spec.Invitation.AutoRenew; ar != nil {
		maxRenewals = ar.MaxRenewals
	}
	dec := planner.PlanInvitation(planner.InvitationInput{
		UID:         u.UID,
		Spec:        u.Spec.Invitation,
		Status:      current,
		HasAccess:   run.plan.HasAccess(),
		StoreState:  run.stored.State,
		MaxRenewals: maxRenewals,
		Now:         time.Now(),
	})
	if current != u.Status.Invitation {
		u.Status.Invitation = current.DeepCopy()
	}
	if !dec.Send {
		return r.refreshInvitation(ctx, run)
	}
	inv, err := r.store.SendInvitation(ctx, run.caller, run.key, dec.IdempotencyKey)
	if err != nil {
		return fromStoreError(err, "")
	}
	ref, err := r.storeLink(ctx, u, inv.Link)
	if err != nil {
		return kubeFailed(err)
	}
	var sentBefore int32
	if u.Status.Invitation != nil {
		sentBefore = u.Status.Invitation.SendCount
	}
	st := invitationStatus(inv, u.Status.Invitation)
	st.ResendObserved = dec.Resend
	st.Renewals = dec.Renewals
	st.LinkSecretRef = ref
	u.Status.Invitation = st
	r.invitations.remember(u.UID, st)
	r.directory.undeliverable.forget(run.key)
	if st.SendCount > sentBefore {
		metrics.InvitationsSent.Inc()
		run.invited = st
	}
	r.noteInvitationHealth(ctx, run)
	return proceed
}

// refreshInvitation keeps status.invitation current without sending: NotSent before
// the first invitation, and the store's state while one is pending (the reconcile
// comes back at its expiry). A pending
// invitation can only end by being accepted (the user turns Active), by the user's
// removal, or by expiring: while the user is still Invited and the invitation not past
// its expiry, it is pending still and needs no read. Once the invitation is no longer
// pending its link is useless, so its Secret goes.
func (r *StudioUserReconciler) refreshInvitation(ctx context.Context, run *userRun) outcome {
	u := run.u
	defer r.noteInvitationHealth(ctx, run)
	if u.Status.Invitation == nil {
		u.Status.Invitation = &iamv1.InvitationStatus{State: iamv1.InvitationNotSent}
		return proceed
	}
	if u.Status.Invitation.State != iamv1.InvitationPending {
		return proceed
	}
	if exp := u.Status.Invitation.ExpiresAt; run.stored.State == store.UserInvited && exp != nil && time.Now().Before(exp.Time) {
		run.requeueBy = exp.Time // its expiry is seen without a resync
		return proceed
	}
	inv, err := r.store.GetInvitation(ctx, run.key)
	if err != nil {
		return fromStoreError(err, "")
	}
	st := invitationStatus(inv, u.Status.Invitation)
	if st.State != iamv1.InvitationPending && st.LinkSecretRef != nil {
		if err := r.deleteLinkSecret(ctx, u); err != nil {
			return kubeFailed(err)
		}
		st.LinkSecretRef = nil
	}
	u.Status.Invitation = st
	return proceed
}

// invitationMemory remembers the invitation status of each send this process made,
// until the cache shows it: a reconcile that reads a stale object then does not take
// the send for one still to make.
type invitationMemory struct {
	mu   sync.Mutex
	sent map[types.UID]*iamv1.InvitationStatus
}

func newInvitationMemory() *invitationMemory {
	return &invitationMemory{sent: map[types.UID]*iamv1.InvitationStatus{}}
}

// newest returns cached, unless this process sent more than cached says.
func (m *invitationMemory) newest(uid types.UID, cached *iamv1.InvitationStatus) *iamv1.InvitationStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	sent, ok := m.sent[uid]
	if !ok {
		return cached
	}
	if cached != nil && cached.SendCount >= sent.SendCount && cached.ResendObserved >= sent.ResendObserved {
		delete(m.sent, uid) // the cache has caught up
		return cached
	}
	return sent
}

func (m *invitationMemory) remember(uid types.UID, st *iamv1.InvitationStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent[uid] = st.DeepCopy()
}

func (m *invitationMemory) forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sent, uid)
}

// invitationStatus is the status of inv, keeping what only the operator knows
// (resendObserved, renewals, the Secret) from prev.
func invitationStatus(inv store.Invitation, prev *iamv1.InvitationStatus) *iamv1.InvitationStatus {
	st := &iamv1.InvitationStatus{
		State:     planner.InvitationStateOf(inv.State),
		SentAt:    statusTime(inv.SentAt),
		ExpiresAt: statusTime(inv.ExpiresAt),
		SendCount: int32(inv.SendCount),
	}
	if prev != nil {
		st.ResendObserved = prev.ResendObserved
		st.Renewals = prev.Renewals
		st.LinkSecretRef = prev.LinkSecretRef
	}
	return st
}

// storeLink writes the link into the user's Secret in the operator's namespace,
// owned by the StudioUser (so it is collected with it) and labelled. It creates the
// Secret first — the common case costs one request — and only when one exists reads
// it straight from the API server and writes when the link changed.
func (r *StudioUserReconciler) storeLink(ctx context.Context, u *iamv1.StudioUser, link string) (*iamv1.SecretReference, error) {
	key := types.NamespacedName{Namespace: r.opts.Namespace, Name: InvitationSecretName(u.Name)}
	ref := &iamv1.SecretReference{Namespace: key.Namespace, Name: key.Name}
	err := r.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: key.Name, Namespace: key.Namespace,
			Labels:          map[string]string{LabelInvitationFor: "true", labelManagedBy: FieldManager},
			Annotations:     map[string]string{AnnotationStudioUser: u.Name},
			OwnerReferences: []metav1.OwnerReference{ownerOf(u)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{InvitationLinkKey: []byte(link)},
	})
	switch {
	case err == nil:
		return ref, nil
	case !apierrors.IsAlreadyExists(err):
		return nil, err
	}
	sec := &corev1.Secret{}
	if err := r.apiReader.Get(ctx, key, sec); err != nil {
		return nil, err
	}
	if bytes.Equal(sec.Data[InvitationLinkKey], []byte(link)) {
		return ref, nil
	}
	base := sec.DeepCopy()
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	sec.Data[InvitationLinkKey] = []byte(link)
	return ref, r.Patch(ctx, sec, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// deleteLinkSecret deletes the user's invitation-link Secret, if any.
func (r *StudioUserReconciler) deleteLinkSecret(ctx context.Context, u *iamv1.StudioUser) error {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.opts.Namespace, Name: InvitationSecretName(u.Name)}}
	return client.IgnoreNotFound(r.Delete(ctx, sec))
}

// ownerOf is an owner reference to u. A cluster-scoped owner is allowed for a
// namespaced object; it is not a controller reference, so deleting the Secret needs
// no permission on the StudioUser's finalizers.
func ownerOf(u *iamv1.StudioUser) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: iamv1.GroupVersion.String(),
		Kind:       kindStudioUser,
		Name:       u.Name,
		UID:        u.UID,
	}
}

// InvitationSecretName is "studio-invitation-<user>", shortened with a hash suffix
// when that would exceed the limit on object names.
func InvitationSecretName(user string) string {
	name := InvitationSecretPrefix + user
	if len(name) <= validation.DNS1123SubdomainMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(user))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	// The cut must not leave a label ending in '.' or '-'.
	return strings.TrimRight(name[:validation.DNS1123SubdomainMaxLength-len(suffix)], ".-") + suffix
}

// noteInvitationHealth shows an invitation that cannot reach the person: condition
// InvitationExpired (expired without being accepted, and not renewed: reason
// RenewalsExhausted once spec.invitation.autoRenew's renewals are spent) and
// condition InvitationUndeliverable (the Studio gave up delivering the email of the
// pending invitation, with the mail server's reply class, never the address), each
// with a Warning event when it appears. A new invitation clears both.
func (r *StudioUserReconciler) noteInvitationHealth(ctx context.Context, run *userRun) {
	u := run.u
	inv := u.Status.Invitation
	conds := &u.Status.Conditions
	if inv != nil && inv.State == iamv1.InvitationExpired {
		reason, msg := iamv1.ReasonInvitationExpired, fmt.Sprintf("the invitation sent %s expired without being accepted; to send a new one, increase spec.invitation.resend or set spec.invitation.autoRenew", sentWhen(inv))
		if ar := u.Spec.Invitation.AutoRenew; ar != nil && ar.MaxRenewals > 0 && inv.Renewals >= ar.MaxRenewals {
			reason = iamv1.ReasonRenewalsExhausted
			msg = fmt.Sprintf("the invitation expired without being accepted after %s; to send a new one, increase spec.invitation.resend", plural(int(inv.Renewals), "renewal"))
		}
		if setTrueCondition(conds, u.Generation, iamv1.ConditionInvitationExpired, reason, msg) {
			r.warningEvent(u, EventInvitationExpired, actionInvite, "%s", msg)
		}
	} else {
		meta.RemoveStatusCondition(conds, iamv1.ConditionInvitationExpired)
	}
	// Only a pending invitation can be undeliverable: the listing is not consulted
	// (nor loaded) for the others.
	if inv != nil && inv.State == iamv1.InvitationPending {
		if failed, ok := r.directory.undeliverable.lookup(ctx, run.key); ok && sameSend(inv.SentAt, failed.SentAt) {
			msg := fmt.Sprintf("the Studio could not deliver the invitation email sent %s (mail server reply: %s); check the address and the mail server, then increase spec.invitation.resend", sentWhen(inv), failed.ReplyClass)
			if setTrueCondition(conds, u.Generation, iamv1.ConditionInvitationUndeliverable, iamv1.ReasonUndeliverable, msg) {
				r.warningEvent(u, EventInvitationUndeliverable, actionInvite, "%s", msg)
			}
			return
		}
	}
	meta.RemoveStatusCondition(conds, iamv1.ConditionInvitationUndeliverable)
}

// sentWhen is "at <time>" of an invitation's send, for messages.
func sentWhen(inv *iamv1.InvitationStatus) string {
	if inv == nil || inv.SentAt == nil {
		return ""
	}
	return "at " + inv.SentAt.UTC().Format(time.RFC3339)
}

// sameSend reports whether a store time is the send status records (at the API's
// precision of seconds).
func sameSend(recorded *metav1.Time, sent time.Time) bool {
	return recorded != nil && recorded.Time.Equal(sent.UTC().Truncate(time.Second))
}
