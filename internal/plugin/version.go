package plugin

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/studio-operator/studio-operator/internal/buildinfo"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "kubectl-studio %s\n", buildinfo.String())
			return err
		},
	}
}
