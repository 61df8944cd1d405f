package plugin

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/studio-operator/studio-operator/internal/buildinfo"
)

// Options are what the commands need from outside.
type Options struct {
	IOStreams genericiooptions.IOStreams
	// NewStore makes a Studio user store client; nil leaves the plugin without one.
	NewStore NewStoreFunc
	// Clients replaces the clients built from flags (tests inject faults with it).
	Clients Clients
	// Getenv reads the environment (store settings); nil means os.Getenv.
	Getenv func(string) string
	// Now is the clock for ages; nil means time.Now.
	Now func() time.Time
}

// deps bundles what every subcommand uses.
type deps struct {
	streams genericiooptions.IOStreams
	clients Clients
	now     func() time.Time
}

// NewRootCommand returns `kubectl studio` with its subcommands.
func NewRootCommand(o Options) *cobra.Command {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	kubeFlags := genericclioptions.NewConfigFlags(true)
	fc := &flagClients{
		config:   kubeFlags,
		getenv:   o.Getenv,
		newStore: o.NewStore,
		warnings: rest.NewWarningWriter(o.IOStreams.ErrOut, rest.WarningWriterOptions{Deduplicate: true}),
	}
	e := &deps{streams: o.IOStreams, clients: o.Clients, now: o.Now}
	if e.clients == nil {
		e.clients = fc
	}

	root := &cobra.Command{
		Use:     "kubectl-studio",
		Version: buildinfo.String(),
		Short:   "See and manage the Studio's users declared with studio-operator",
		Long: `kubectl studio shows the Studio's users as studio-operator reconciles them: the users
overview, what a user can do in each environment, who can do something, the audit
log, invitations, what switching an agency to managementPolicy Full would change
(plan), and the Studio users no StudioUser names yet (unmanaged).

It uses your kubeconfig like kubectl does (--kubeconfig, --context, --as, ...). The
audit command (and access --from store, unmanaged -o yaml) also talks to the Studio
user store: set --store-url and --store-token-file, or STUDIO_STORE_URL and
STUDIO_STORE_TOKEN.`,
		Example: `  # The users overview
  kubectl studio users

  # What ana can do, per environment
  kubectl studio access ana

  # Who is notified of new conversations on the website chat
  kubectl studio who-can notify --environment team-support/webchat`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl studio"},
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SetIn(o.IOStreams.In)
	root.SetOut(o.IOStreams.Out)
	root.SetErr(o.IOStreams.ErrOut)
	kubeFlags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&fc.storeURL, "store-url", "", "URL of the Studio user store (default $"+EnvStoreURL+")")
	root.PersistentFlags().StringVar(&fc.storeTokenFile, "store-token-file", "", "File with a bearer token for the Studio user store (default: the token in $"+EnvStoreToken+")")

	root.AddCommand(
		newUsersCommand(e),
		newAccessCommand(e),
		newWhoCanCommand(e),
		newAuditCommand(e),
		newInviteLinkCommand(e),
		newResendCommand(e),
		newPlanCommand(e),
		newApproveCommand(e),
		newUnmanagedCommand(e),
		newVersionCommand(),
	)
	return root
}

// Run runs the plugin with args (without the program name) and returns the exit
// code: ExitOK, ExitChanges when a command returned ChangesPresent (its output says
// what), else ExitError with the error printed as one line on ErrOut.
func Run(o Options, args []string) int {
	cmd := NewRootCommand(o)
	cmd.SetArgs(args)
	err := cmd.Execute()
	var changes ChangesPresent
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &changes):
		return ExitChanges
	default:
		fmt.Fprintln(o.IOStreams.ErrOut, FormatError(err))
		return ExitError
	}
}
