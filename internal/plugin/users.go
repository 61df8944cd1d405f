package plugin

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// UsersTable is the Studio's users overview: one row per user, sorted by name, with
// where the user's invitation stands last (InvitationCell). Wide adds the list of
// environments.
func UsersTable(users []iamv1.StudioUser, now time.Time, wide bool) Table {
	t := Table{Header: []string{"NAME", "EMAIL", "TYPE", "STATE", "ENVIRONMENTS", "LAST ACTIVE", "CREATED", "INVITATION"}}
	if wide {
		t.Header = append(t.Header, "ENVIRONMENT LIST")
	}
	users = slices.Clone(users)
	slices.SortFunc(users, func(a, b iamv1.StudioUser) int { return cmp.Compare(a.Name, b.Name) })
	for _, u := range users {
		envs := make([]string, len(u.Status.Access))
		for i, a := range u.Status.Access {
			envs[i] = a.Environment
		}
		count := int(u.Status.Environments)
		if len(envs) > 0 {
			count = len(envs)
		}
		row := []string{
			u.Name,
			u.Spec.Email,
			string(cmp.Or(u.Spec.Type, iamv1.UserTypeUser)),
			string(u.Status.State),
			strconv.Itoa(count),
			age(now, u.Status.LastActiveAt),
			age(now, u.Status.CreatedAt),
			InvitationCell(&u, now),
		}
		if wide {
			row = append(row, joinOrNone(envs))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func newUsersCommand(e *deps) *cobra.Command {
	printFlags := genericclioptions.NewPrintFlags("").WithDefaultOutput("")
	var selector string
	var filter InvitationFilter
	cmd := &cobra.Command{
		Use:     "users",
		Aliases: []string{"user", "su"},
		Short:   "List the Studio's users: email, type, state, environments, last active, created, invitation",
		Long: `List the Studio's users from their StudioUser objects, sorted by name: email, type,
state in the Studio, how many environments the user can access, when the user was last
active and when the Studio created it ("-" for never), and where the latest invitation
stands: "Pending 3d left" (time to its expiry, in the largest whole unit), Undeliverable
(pending, but the Studio gave up delivering the email: condition InvitationUndeliverable;
resend it), Accepted, Expired, Withdrawn, or "-" when none was sent. -o wide adds the
environments themselves.

--pending keeps the users whose invitation waits to be accepted (Undeliverable ones
included: they are pending too), --expired those whose invitation expired unaccepted;
with both, users matching either. They apply to every output format.`,
		Example: `  # The users overview
  kubectl studio users

  # With the environments each user can access
  kubectl studio users -o wide

  # Users labelled team=support, as YAML
  kubectl studio users -l team=support -o yaml

  # Who has not accepted an invitation yet, or let it expire
  kubectl studio users --pending --expired`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format := *printFlags.OutputFormat
			wide := format == outputWide
			if format != outputTable && !wide {
				if _, err := printFlags.ToPrinter(); err != nil {
					return err
				}
			}
			c, err := e.clients.Kube()
			if err != nil {
				return err
			}
			var opts []client.ListOption
			if selector != "" {
				sel, err := labels.Parse(selector)
				if err != nil {
					return err
				}
				opts = append(opts, client.MatchingLabelsSelector{Selector: sel})
			}
			var list iamv1.StudioUserList
			if err := c.List(cmd.Context(), &list, opts...); err != nil {
				return err
			}
			list.Items = slices.DeleteFunc(list.Items, func(u iamv1.StudioUser) bool { return !filter.Keep(&u) })
			if format == outputTable || wide {
				if len(list.Items) == 0 {
					_, err := e.streams.ErrOut.Write([]byte("No resources found\n"))
					return err
				}
				return WriteTable(e.streams.Out, UsersTable(list.Items, e.now(), wide))
			}
			return printObjects(e, printFlags, &list)
		},
	}
	printFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (wide, json, yaml, name, jsonpath, jsonpath-as-json, jsonpath-file, go-template, go-template-file, template, templatefile)."
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Label selector to filter users on, e.g. -l team=support")
	cmd.Flags().BoolVar(&filter.Pending, "pending", false, "Only users whose invitation is pending (Undeliverable included)")
	cmd.Flags().BoolVar(&filter.Expired, "expired", false, "Only users whose invitation expired unaccepted")
	return cmd
}

// printObjects prints a StudioUser list with a kubectl printer; the items get their
// apiVersion and kind so -o name and -o yaml show them as kubectl does.
func printObjects(e *deps, printFlags *genericclioptions.PrintFlags, list *iamv1.StudioUserList) error {
	scheme, err := Scheme()
	if err != nil {
		return err
	}
	p, err := printFlags.WithTypeSetter(scheme).ToPrinter()
	if err != nil {
		return err
	}
	slices.SortFunc(list.Items, func(a, b iamv1.StudioUser) int { return cmp.Compare(a.Name, b.Name) })
	for i := range list.Items {
		list.Items[i].SetGroupVersionKind(iamv1.GroupVersion.WithKind("StudioUser"))
		list.Items[i].ManagedFields = nil // as kubectl, unless asked (noise for people)
	}
	if *printFlags.OutputFormat != outputName {
		return p.PrintObj(list, e.streams.Out)
	}
	// The name printer takes objects one by one, as kubectl hands them to it.
	for i := range list.Items {
		if err := p.PrintObj(&list.Items[i], e.streams.Out); err != nil {
			return err
		}
	}
	return nil
}
