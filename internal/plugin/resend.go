package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

const (
	resendDone       = "studiouser.%s/%s invitation resend requested (resend=%d)\n"
	warnResendNoSend = "Warning: studiouser %q has spec.invitation.send: false; the operator sends it no invitation\n"
)

func newResendCommand(e *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resend USER",
		Short: "Send a user's invitation again (a new link; the old one stops working)",
		Long: `Ask the operator to send USER's invitation again by bumping spec.invitation.resend with a
merge patch (field manager kubectl-studio). The operator sends a new invitation once,
however often it retries; the previous link stops working.

If the StudioUser is managed with GitOps and its manifest sets spec.invitation.resend,
bump it there instead: resend can only increase, so a sync that would set it back is
refused by the API server.`,
		Example: `  # Ana lost her invitation email
  kubectl studio resend ana`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.clients.Kube()
			if err != nil {
				return err
			}
			var u iamv1.StudioUser
			// The patch carries the resourceVersion it read, so two concurrent resends
			// give two bumps instead of one lost update.
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if err := c.Get(cmd.Context(), client.ObjectKey{Name: args[0]}, &u); err != nil {
					return err
				}
				orig := u.DeepCopy()
				u.Spec.Invitation.Resend++
				patch := client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
				return c.Patch(cmd.Context(), &u, patch, client.FieldOwner(fieldManager))
			})
			if err != nil {
				return err
			}
			if u.Spec.Invitation.Send != nil && !*u.Spec.Invitation.Send {
				fmt.Fprintf(e.streams.ErrOut, warnResendNoSend, u.Name)
			}
			_, err = fmt.Fprintf(e.streams.Out, resendDone, iamv1.GroupVersion.Group, u.Name, u.Spec.Invitation.Resend)
			return err
		},
	}
	return cmd
}
