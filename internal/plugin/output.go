package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Output formats of the views that are not Kubernetes objects (access, who-can,
// audit). users prints objects and takes every kubectl printer format.
const (
	outputTable = ""
	outputWide  = "wide"
	outputJSON  = "json"
	outputYAML  = "yaml"
	outputName  = "name"
)

const errUnsupportedOutput = "unable to match a printer suitable for the output format %q, allowed formats are: %s"

// addOutputFlag binds -o/--output, allowing formats besides the default table.
func addOutputFlag(cmd *cobra.Command, into *string, formats ...string) {
	cmd.Flags().StringVarP(into, "output", "o", "", fmt.Sprintf("Output format. One of: (%s).", strings.Join(formats, ", ")))
}

// checkOutput refuses a format the command does not offer.
func checkOutput(format string, formats ...string) error {
	if format == outputTable || slices.Contains(formats, format) {
		return nil
	}
	return fmt.Errorf(errUnsupportedOutput, format, strings.Join(formats, ","))
}

// printData prints v as JSON or YAML (v's json tags name the fields either way).
func printData(w io.Writer, format string, v any) error {
	switch format {
	case outputJSON:
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case outputYAML:
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	default:
		return fmt.Errorf("printData: unexpected format %q", format)
	}
}
