// Package e2e holds the end-to-end tests of the studio-operator: they build
// studio-dev and kubectl-studio, start one sandbox (`studio-dev up`) as a separate
// process, and drive it the way a platform engineer would, with the real kubectl
// binary and the plugin found on PATH (`kubectl studio ...`). They are part of
// `go test ./...` and so of `make test`.
//
// The sandbox is shared by the tests of the package and stopped in TestMain with
// SIGTERM, which must end it with exit status 0, its child processes gone and its
// ports free. Invitation links, tokens and email addresses are redacted from
// everything the tests print.
package e2e
