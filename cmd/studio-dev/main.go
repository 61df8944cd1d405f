// Command studio-dev runs the local sandbox of the studio-operator (README.md, "A five-minute tour"):
//
//	studio-dev up --dir DIR [--store-listen 127.0.0.1:PORT]
//
// Everything it does lives in internal/sandbox.
package main

import (
	"fmt"
	"os"

	"github.com/studio-operator/studio-operator/internal/sandbox"
)

func main() {
	// Started as the launcher of etcd or kube-apiserver, this process becomes that
	// binary here; see sandbox.MaybeExecControlPlane.
	sandbox.MaybeExecControlPlane()
	if err := sandbox.NewCommand().Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "studio-dev: %v\n", err)
		os.Exit(1)
	}
}
