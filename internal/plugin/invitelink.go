package plugin

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

const (
	// DefaultStudioNamespace is where the operator keeps invitation Secrets unless it
	// runs with another --namespace.
	DefaultStudioNamespace = "studio-system"
	// invitationSecretPrefix + user name is the Secret that holds a user's link.
	invitationSecretPrefix = "studio-invitation-"
	// invitationLinkKey is the Secret key of the link.
	invitationLinkKey = "link"

	errNoLink         = "no invitation link for studiouser %q: %s"
	reasonNotSent     = "no invitation has been sent yet (the user needs at least one role)"
	reasonSendOff     = "invitations are off for this user (spec.invitation.send: false, e.g. SSO)"
	reasonAccepted    = "the invitation was accepted"
	reasonWithdrawn   = "the invitation was withdrawn"
	reasonExpired     = "the invitation expired; run `kubectl studio resend %s` for a new one"
	reasonNoSecret    = "Secret %s/%s does not exist"
	reasonEmptySecret = "Secret %s/%s has no %q key"
)

// linkSecret says which Secret holds u's link: the one the status names, unless
// --studio-namespace was given, else studio-invitation-<user> in namespace.
func linkSecret(u *iamv1.StudioUser, namespace string, namespaceGiven bool) client.ObjectKey {
	if inv := u.Status.Invitation; inv != nil && inv.LinkSecretRef != nil && !namespaceGiven {
		return client.ObjectKey{Namespace: inv.LinkSecretRef.Namespace, Name: inv.LinkSecretRef.Name}
	}
	return client.ObjectKey{Namespace: namespace, Name: invitationSecretPrefix + u.Name}
}

// deadLinkReason says why u's link cannot be used, from its status; "" when it may.
func deadLinkReason(u *iamv1.StudioUser) string {
	var state iamv1.InvitationState
	if u.Status.Invitation != nil {
		state = u.Status.Invitation.State
	}
	switch state {
	case iamv1.InvitationAccepted:
		return reasonAccepted
	case iamv1.InvitationWithdrawn:
		return reasonWithdrawn
	case iamv1.InvitationExpired:
		return fmt.Sprintf(reasonExpired, u.Name)
	}
	return ""
}

// noLinkReason says why there is no Secret for u.
func noLinkReason(u *iamv1.StudioUser, key client.ObjectKey) string {
	if u.Spec.Invitation.Send != nil && !*u.Spec.Invitation.Send {
		return reasonSendOff
	}
	if u.Status.Invitation == nil || u.Status.Invitation.State == "" || u.Status.Invitation.State == iamv1.InvitationNotSent {
		return reasonNotSent
	}
	return fmt.Sprintf(reasonNoSecret, key.Namespace, key.Name)
}

func newInviteLinkCommand(e *deps) *cobra.Command {
	var namespace string
	cmd := &cobra.Command{
		Use:   "invite-link USER",
		Short: "Print a user's invitation link, to send it through another channel",
		Long: `Print the link of USER's pending invitation, so it can be sent through another channel
than email. The operator keeps it in the Secret studio-invitation-<user> in its
namespace (studio-system unless it runs with another --namespace); reading it needs
permission to get that Secret.

The link lets whoever holds it accept the invitation: treat it as a secret. This is the
only command that prints one.`,
		Example: `  # Copy ana's invitation link
  kubectl studio invite-link ana

  # The operator runs in another namespace
  kubectl studio invite-link ana --studio-namespace studio`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.clients.Kube()
			if err != nil {
				return err
			}
			var u iamv1.StudioUser
			if err := c.Get(cmd.Context(), client.ObjectKey{Name: args[0]}, &u); err != nil {
				return err
			}
			if reason := deadLinkReason(&u); reason != "" {
				return fmt.Errorf(errNoLink, u.Name, reason)
			}
			key := linkSecret(&u, namespace, cmd.Flags().Changed("studio-namespace"))
			var secret corev1.Secret
			if err := c.Get(cmd.Context(), key, &secret); err != nil {
				if apierrors.IsNotFound(err) {
					return fmt.Errorf(errNoLink, u.Name, noLinkReason(&u, key))
				}
				return err
			}
			link := strings.TrimSpace(string(secret.Data[invitationLinkKey]))
			if link == "" {
				return fmt.Errorf(errNoLink, u.Name, fmt.Sprintf(reasonEmptySecret, key.Namespace, key.Name, invitationLinkKey))
			}
			_, err = fmt.Fprintln(e.streams.Out, link)
			return err
		},
	}
	cmd.Flags().StringVar(&namespace, "studio-namespace", DefaultStudioNamespace, "Namespace of the operator's invitation Secrets")
	return cmd
}
