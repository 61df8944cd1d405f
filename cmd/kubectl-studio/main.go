// Command kubectl-studio is the kubectl plugin for the Studio's users: installed on
// PATH it runs as `kubectl studio ...`. See internal/plugin for the commands.
//
// It exits with what plugin.Run returns: plugin.ExitOK (0), plugin.ExitError (1, the
// error on stderr) or plugin.ExitChanges (2: `kubectl studio plan` found changes to
// review). kubectl passes a plugin's exit status through.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/studio-operator/studio-operator/internal/plugin"
	"github.com/studio-operator/studio-operator/internal/store"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

func main() {
	os.Exit(plugin.Run(plugin.Options{
		IOStreams: genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
		NewStore:  newStoreClient,
	}, os.Args[1:]))
}

// newStoreClient talks to the Studio user store over its HTTP API.
func newStoreClient(url, token string) (store.API, error) {
	return storeclient.New(url, storeclient.Options{Token: token, UserAgent: "kubectl-studio"})
}
