package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

const (
	errAgencyTwice   = "give the agency once: either as the AGENCY argument (%q) or with --agency (%q)"
	errNoPlanYet     = "agency %q is under managementPolicy Observe but has no status.plan yet: the operator has not reported what Full would change, so plan cannot tell; retry once it has reconciled the Agency"
	warnStaleAgency  = "Warning: agency %q changed since the operator last reconciled it (generation %d, observed %d); its plan may be out of date\n"
	noticeNoAgencies = "No agencies found\n"
)

// agencyArg is the agency a command is about: the AGENCY argument or --agency, not
// both; "" means every agency.
func agencyArg(args []string, flag string) (string, error) {
	if len(args) == 1 && flag != "" && args[0] != flag {
		return "", fmt.Errorf(errAgencyTwice, args[0], flag)
	}
	if len(args) == 1 {
		return args[0], nil
	}
	return flag, nil
}

// listAgencies reads the named Agency, or every Agency when name is "".
func listAgencies(ctx context.Context, c client.Client, name string) ([]iamv1.Agency, error) {
	if name != "" {
		a := iamv1.Agency{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &a); err != nil {
			return nil, err
		}
		return []iamv1.Agency{a}, nil
	}
	var list iamv1.AgencyList
	if err := c.List(ctx, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func newPlanCommand(e *deps) *cobra.Command {
	var agency, output string
	cmd := &cobra.Command{
		Use:   "plan [AGENCY]",
		Short: "Show what the operator would change: the Observe plan and the held revocations",
		Long: `Show, per agency, what the operator would change in the Studio and has not:

- for an agency under managementPolicy Observe, what switching it to Full would do
  (from the StudioUsers' and the Agency's status.plan): + a user created, a role
  granted, an invitation sent, an environment's inherited roles unblocked; - a role
  revoked, an environment's inherited roles blocked; ~ a profile field changed
  (from → to), a record adopted or updated;
- for any agency, the revocations the mass-revocation guard holds until they are
  approved with kubectl studio approve AGENCY.

Without AGENCY (or --agency) it covers every Agency. Users are shown by name, not by
email. The last line sums it up: Plan: N to create, N to adopt, N to update, N to
revoke, N invitations.

Exit status, as terraform plan -detailed-exitcode: 0 when there is nothing to change
or approve, 2 when there is, 1 on error (e.g. the agency does not exist, or an agency
under Observe has no plan reported yet). -o json|yaml prints the same as a document.`,
		Example: `  # What taking over acme would change, and what the guard holds there
  kubectl studio plan acme

  # Every agency, as JSON; in CI the exit status says 0 no changes, 2 changes, 1 error
  kubectl studio plan -o json > plan.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outputJSON, outputYAML); err != nil {
				return err
			}
			name, err := agencyArg(args, agency)
			if err != nil {
				return err
			}
			c, err := e.clients.Kube()
			if err != nil {
				return err
			}
			agencies, err := listAgencies(cmd.Context(), c, name)
			if err != nil {
				return err
			}
			if len(agencies) == 0 {
				_, err := fmt.Fprint(e.streams.ErrOut, noticeNoAgencies)
				return err
			}
			var users iamv1.StudioUserList
			if err := c.List(cmd.Context(), &users); err != nil {
				return err
			}
			var unknown []error
			for _, a := range agencies {
				if policyOf(&a) != iamv1.ManagementObserve {
					continue
				}
				if a.Status.ObservedGeneration != a.Generation {
					fmt.Fprintf(e.streams.ErrOut, warnStaleAgency, a.Name, a.Generation, a.Status.ObservedGeneration)
				}
				if a.Status.Plan == nil {
					unknown = append(unknown, fmt.Errorf(errNoPlanYet, a.Name))
				}
			}

			view := BuildPlan(PlanInput{Agencies: agencies, Users: users.Items})
			if output == outputTable {
				err = WritePlan(e.streams.Out, view)
			} else {
				err = printData(e.streams.Out, output, view)
			}
			switch {
			case err != nil:
				return err
			case len(unknown) > 0:
				return errors.Join(unknown...)
			case view.Summary.Changes:
				return ChangesPresent{Summary: planSummaryLine(view.Summary)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&agency, "agency", "", "Only this agency (the same as the AGENCY argument)")
	addOutputFlag(cmd, &output, outputJSON, outputYAML)
	return cmd
}

// planSummaryLine is the summary in a few words, for ChangesPresent.
func planSummaryLine(s PlanSummary) string {
	return fmt.Sprintf("%d to create, %d to adopt, %d to update, %d to revoke, %d invitations, %d environments to record, %d revocations held",
		s.ToCreate, s.ToAdopt, s.ToUpdate, s.ToRevoke, s.Invitations, s.EnvironmentsToRecord, s.RevocationsHeld)
}
