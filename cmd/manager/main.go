// Command manager is the studio-operator: it reconciles Agencies, Environments,
// StudioUsers and RoleBindings into the Studio user store (docs/architecture.md).
//
//	manager --store-url http://studio-store:8080 --store-token-file /etc/studio/token \
//	  --instance-id prod --namespace studio-system --leader-elect
package main

import (
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
)

func main() {
	if err := run(ctrl.SetupSignalHandler(), os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}
