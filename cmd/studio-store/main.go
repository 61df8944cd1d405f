// Command studio-store is the Studio user store server (docs/operations.md); see
// `studio-store serve --help`.
package main

import (
	"os"

	"github.com/studio-operator/studio-operator/internal/storeserver"
)

func main() { os.Exit(storeserver.Main()) }
