// Command kubectl-studio is the kubectl plugin for the Studio's users: installed on
// PATH it runs as `kubectl studio ...`. See internal/plugin for the commands.
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
