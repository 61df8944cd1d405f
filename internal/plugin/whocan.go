package plugin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

const (
	errEnvironmentRequired = "--environment is required: who-can answers for one environment (<namespace>/<name>)"
	noticeNobody           = "No user has %s in environment %s\n"
)

func newWhoCanCommand(e *deps) *cobra.Command {
	var environment, output string
	cmd := &cobra.Command{
		Use:   "who-can ROLE|CAPABILITY --environment NAMESPACE/NAME",
		Short: "List the users who have a role or capability in an environment",
		Long: `List the users who have ROLE (as written in RoleBindings, e.g. Operator) or CAPABILITY
(e.g. inbox.reply, notify, crm.read) in one environment, with where the access comes from
(Agency or Environment) and the RoleBindings that give it. The answer comes from the
StudioUsers' status, as the operator resolved it.

Capabilities: inbox.reply, inbox.start, inbox.history, crm.read, crm.write, notify,
cms.write, analytics.read, bots.develop, backups.manage, settings.write, planning.write,
users.manage, environments.manage. notify (being told of incoming messages) needs Agent
or Operator granted in the environment itself.`,
		Example: `  # Who is notified of new conversations on the website chat
  kubectl studio who-can notify --environment team-support/webchat

  # Who are Analysts on the lead bot (namespace from -n)
  kubectl studio who-can Analyst --environment leadbot -n team-sales

  # Names only, for scripts
  kubectl studio who-can crm.write --environment team-support/whatsapp -o name`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outputWide, outputJSON, outputYAML, outputName); err != nil {
				return err
			}
			q, err := ParseQuestion(args[0])
			if err != nil {
				return err
			}
			if environment == "" {
				return errors.New(errEnvironmentRequired)
			}
			ns, err := e.clients.Namespace()
			if err != nil {
				return err
			}
			env, err := parseEnvironmentRef(environment, ns)
			if err != nil {
				return err
			}
			c, err := e.clients.Kube()
			if err != nil {
				return err
			}
			// A typo in the environment should say so, not answer "nobody".
			envNS, envName, _ := strings.Cut(env, "/")
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: envNS, Name: envName}, &iamv1.Environment{}); err != nil {
				return err
			}
			var users iamv1.StudioUserList
			if err := c.List(cmd.Context(), &users); err != nil {
				return err
			}
			view := WhoCanView{Environment: env, Question: q, Users: WhoCan(users.Items, q, env)}

			switch output {
			case outputJSON, outputYAML:
				return printData(e.streams.Out, output, view)
			case outputName:
				for _, u := range view.Users {
					fmt.Fprintf(e.streams.Out, "studiouser.%s/%s\n", iamv1.GroupVersion.Group, u.Name)
				}
				return nil
			}
			if len(view.Users) == 0 {
				fmt.Fprintf(e.streams.ErrOut, noticeNobody, q, env)
				return nil
			}
			return WriteTable(e.streams.Out, WhoCanTable(view.Users))
		},
	}
	cmd.Flags().StringVar(&environment, "environment", "", "The environment: <namespace>/<name>, or <name> in the -n namespace (required)")
	addOutputFlag(cmd, &output, outputWide, outputJSON, outputYAML, outputName)
	return cmd
}
