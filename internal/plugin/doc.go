// Package plugin implements the commands of kubectl-studio, the kubectl plugin for
// the Studio's users (`kubectl studio users|access|who-can|audit|invite-link|resend`).
//
// Commands read StudioUser objects (the users overview and each user's effective
// access live in their status) and the Studio user store's audit log. Each command
// builds its view with a pure function (rows from objects) that is table-tested; the
// cobra wiring only fetches, calls it and prints. Clients come from a small interface
// so tests can inject faults; by default they are built from the usual kubectl flags
// (k8s.io/cli-runtime) and the store settings.
//
// Invitation links are secrets: only invite-link prints one, and nothing logs them.
package plugin
