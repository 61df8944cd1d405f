package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

const (
	errAccessFrom       = "invalid --from %q: want cluster or store"
	warnStaleStatus     = "Warning: studiouser %q changed since the operator last reconciled it (generation %d, observed %d); its access may be out of date\n"
	noticeSuspended     = "studiouser %q is suspended: it has no access\n"
	noticeNoAccess      = "studiouser %q has no access\n"
	noticeNoAccessInEnv = "studiouser %q has no access to environment %s\n"
)

func newAccessCommand(e *deps) *cobra.Command {
	var environment, from, output string
	cmd := &cobra.Command{
		Use:     "access USER",
		Aliases: []string{"impersonate"},
		Short:   "Show what a user can do in each environment: roles, source, capabilities, bindings",
		Long: `Show the Studio as USER sees it: per environment the effective roles, whether they come
from the Agency or from the Environment itself, the capabilities they give, and the
RoleBindings that grant them.

By default the access comes from the StudioUser's status, as the operator resolved it
(no store token needed). --from store asks the Studio user store instead, which is what
the Studio enforces (it does not know the RoleBindings).`,
		Example: `  # What ana can do, everywhere
  kubectl studio access ana

  # Only on the website chat
  kubectl studio access ana --environment team-support/webchat

  # As the Studio user store sees it, as JSON
  kubectl studio access ana --from store -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outputWide, outputJSON, outputYAML); err != nil {
				return err
			}
			if from != FromCluster && from != FromStore {
				return fmt.Errorf(errAccessFrom, from)
			}
			env := ""
			if environment != "" {
				ns, err := e.clients.Namespace()
				if err != nil {
					return err
				}
				if env, err = parseEnvironmentRef(environment, ns); err != nil {
					return err
				}
			}
			view, suspended, err := loadAccess(cmd.Context(), e, args[0], from)
			if err != nil {
				return err
			}
			view.Environments = OnlyEnvironment(view.Environments, env)

			switch output {
			case outputJSON, outputYAML:
				return printData(e.streams.Out, output, view)
			}
			if len(view.Environments) == 0 {
				switch {
				case suspended:
					fmt.Fprintf(e.streams.ErrOut, noticeSuspended, view.User)
				case env != "":
					fmt.Fprintf(e.streams.ErrOut, noticeNoAccessInEnv, view.User, env)
				default:
					fmt.Fprintf(e.streams.ErrOut, noticeNoAccess, view.User)
				}
				return nil
			}
			return WriteTable(e.streams.Out, AccessTable(view.Environments))
		},
	}
	cmd.Flags().StringVar(&environment, "environment", "", "Only this environment: <namespace>/<name>, or <name> in the -n namespace")
	cmd.Flags().StringVar(&from, "from", FromCluster, "Where the access comes from: cluster (the StudioUser's status) or store (the Studio user store)")
	addOutputFlag(cmd, &output, outputWide, outputJSON, outputYAML)
	return cmd
}

// loadAccess reads user's access from the cluster (its StudioUser's status, warning
// when that is stale) or from the store; suspended is known only from the cluster.
func loadAccess(ctx context.Context, e *deps, user, from string) (view AccessView, suspended bool, err error) {
	view = AccessView{User: user, From: from}
	if from == FromStore {
		s, err := e.clients.Store()
		if err != nil {
			return view, false, err
		}
		a, err := s.GetAccess(ctx, user)
		if err != nil {
			return view, false, err
		}
		view.Environments = AccessFromStore(a)
		return view, false, nil
	}
	c, err := e.clients.Kube()
	if err != nil {
		return view, false, err
	}
	var u iamv1.StudioUser
	if err := c.Get(ctx, client.ObjectKey{Name: user}, &u); err != nil {
		return view, false, err
	}
	if u.Status.ObservedGeneration != u.Generation {
		fmt.Fprintf(e.streams.ErrOut, warnStaleStatus, u.Name, u.Generation, u.Status.ObservedGeneration)
	}
	view.Environments = AccessFromStatus(&u)
	return view, u.Spec.Suspended, nil
}
