package plugin

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"
)

// Table is what a command prints by default: a header and rows of cells.
type Table struct {
	Header []string
	Rows   [][]string
}

// none is what an empty cell shows, as in kubectl.
const none = "-"

// WriteTable prints t aligned the way kubectl prints its tables.
func WriteTable(w io.Writer, t Table) error {
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, strings.Join(cells(t.Header), "\t"))
	for _, row := range t.Rows {
		fmt.Fprintln(tw, strings.Join(cells(row), "\t"))
	}
	return tw.Flush()
}

// cells keeps every cell on one line and in its column: tabs and newlines would
// break the alignment, an empty cell would shift the ones after it.
func cells(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		c = strings.Join(strings.Fields(c), " ")
		if c == "" {
			c = none
		}
		out[i] = c
	}
	return out
}

// joinOrNone joins items with commas; "-" when there are none.
func joinOrNone[S ~string](items []S) string {
	if len(items) == 0 {
		return none
	}
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = string(it)
	}
	return strings.Join(s, ",")
}
