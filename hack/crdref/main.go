package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

const usage = "usage: crdref DIR > docs/crd-reference.md"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "crdref:", err)
		os.Exit(1)
	}
}

// run loads the CRDs from the one directory in args and writes the reference to out.
func run(args []string, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%s", usage)
	}
	crds, err := loadCRDs(args[0])
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	if err := render(w, crds); err != nil {
		return err
	}
	return w.Flush()
}
