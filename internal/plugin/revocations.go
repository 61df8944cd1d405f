package plugin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// HeldRevocationsTable lists the StudioUsers whose revocation in agency the guard
// holds (condition Stalled, reason RevocationHeld, naming the agency), by name.
func HeldRevocationsTable(agency string, users []iamv1alpha1.StudioUser) Table {
	t := Table{Header: []string{"USER", "EMAIL", "WHY"}}
	needle := fmt.Sprintf("agency %q: ", agency)
	for _, u := range users {
		c := meta.FindStatusCondition(u.Status.Conditions, iamv1alpha1.ConditionStalled)
		if c == nil || c.Reason != iamv1alpha1.ReasonRevocationHeld || !strings.Contains(c.Message, needle) {
			continue
		}
		why := c.Message[strings.Index(c.Message, needle)+len(needle):]
		if i := strings.Index(why, "; agency "); i >= 0 {
			why = why[:i]
		}
		t.Rows = append(t.Rows, []string{u.Name, u.Spec.Email, why})
	}
	slices.SortFunc(t.Rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return t
}

// agencyNamed reads the Agency name with the plugin's Kubernetes client.
func agencyNamed(cmd *cobra.Command, e *deps, name string) (client.Client, *iamv1alpha1.Agency, error) {
	c, err := e.clients.Kube()
	if err != nil {
		return nil, nil, err
	}
	a := &iamv1alpha1.Agency{}
	return c, a, c.Get(cmd.Context(), client.ObjectKey{Name: name}, a)
}

func newPlanCommand(e *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "plan AGENCY",
		Short: "Show the revocations the mass-revocation guard holds in an agency",
		Long: `Show the revocations the operator's mass-revocation guard holds in AGENCY: the users who
would lose all their access there but keep it until the plan is approved, why, and the
plan hash that kubectl studio approve sets.`,
		Example: `  kubectl studio plan acme`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, a, err := agencyNamed(cmd, e, args[0])
			if err != nil {
				return err
			}
			h := a.Status.HeldRevocations
			if h == nil {
				_, err := fmt.Fprintf(e.streams.Out, "agency %s: no revocations held\n", a.Name)
				return err
			}
			var users iamv1alpha1.StudioUserList
			if err := c.List(cmd.Context(), &users); err != nil {
				return err
			}
			fmt.Fprintf(e.streams.Out, "agency %s: %d revocations held, plan %s\n\n", a.Name, h.Users, h.PlanHash)
			if err := WriteTable(e.streams.Out, HeldRevocationsTable(a.Name, users.Items)); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.streams.Out, "\nTo let exactly these through: kubectl studio approve %s\n", a.Name)
			return err
		},
	}
}

func newApproveCommand(e *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "approve AGENCY",
		Short: "Let the revocations held in an agency through",
		Long: `Approve the revocations the mass-revocation guard holds in AGENCY: sets the annotation
` + iamv1alpha1.AnnotationApproveRevocations + ` to the plan hash in status.heldRevocations
(field manager kubectl-studio). The operator lets exactly that plan through; if the held set
changed in the meantime the approval is ignored and the Agency says so. Review the plan
first with kubectl studio plan AGENCY.`,
		Example: `  kubectl studio plan acme && kubectl studio approve acme`,
		Args:    cobra.ExactArgs(1),
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
			a.Annotations[iamv1alpha1.AnnotationApproveRevocations] = h.PlanHash
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
