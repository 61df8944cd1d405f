package plugin

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// agencyNamed reads the Agency name with the plugin's Kubernetes client.
func agencyNamed(cmd *cobra.Command, e *deps, name string) (client.Client, *iamv1.Agency, error) {
	c, err := e.clients.Kube()
	if err != nil {
		return nil, nil, err
	}
	a := &iamv1.Agency{}
	return c, a, c.Get(cmd.Context(), client.ObjectKey{Name: name}, a)
}

func newApproveCommand(e *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "approve AGENCY",
		Short: "Let the revocations held in an agency through",
		Long: `Approve the revocations the mass-revocation guard holds in AGENCY: sets the annotation
` + iamv1.AnnotationApproveRevocations + ` to the plan hash in status.heldRevocations
(field manager kubectl-studio). The operator lets exactly that plan through; if the held set
changed in the meantime the approval is ignored and the Agency says so. Review the plan
first with kubectl studio plan AGENCY.`,
		Example: `  # Review what is held (plan exits with 2 while something is), then let exactly that through
  kubectl studio plan acme
  kubectl studio approve acme`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, a, err := agencyNamed(cmd, e, args[0])
			if err != nil {
				return err
			}
			h := a.Status.HeldRevocations
			if h == nil {
				return errors.New("agency " + a.Name + " holds no revocations: nothing to approve")
			}
			orig := a.DeepCopy()
			if a.Annotations == nil {
				a.Annotations = map[string]string{}
			}
			a.Annotations[iamv1.AnnotationApproveRevocations] = h.PlanHash
			// The optimistic lock makes sure the hash approved is the one just read.
			patch := client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
			if err := c.Patch(cmd.Context(), a, patch, client.FieldOwner(fieldManager)); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.streams.Out, "agency %s: approved plan %s (%d revocations)\n", a.Name, h.PlanHash, h.Users)
			return err
		},
	}
}
