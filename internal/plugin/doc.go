// Package plugin implements the commands of kubectl-studio, the kubectl plugin for
// the Studio's users (`kubectl studio users|access|who-can|audit|invite-link|resend|
// plan|approve|unmanaged`).
//
// Commands read StudioUser and Agency objects (the users overview, each user's
// effective access and what the operator would change live in their status) and the
// Studio user store (audit log, grants of the users no StudioUser names). Each command
// builds its view with a pure function (rows from objects) that is table-tested; the
// cobra wiring only fetches, calls it and prints. Clients come from a small interface
// so tests can inject faults; by default they are built from the usual kubectl flags
// (k8s.io/cli-runtime) and the store settings.
//
// Exit codes: 0, 1 on error, and 2 (ExitChanges) for a plan with changes, which a
// command reports by returning ChangesPresent.
//
// Invitation links are secrets: only invite-link prints one, and nothing logs them.
// Emails are personal data: plan names users, never their emails.
package plugin
