package plugin

import "fmt"

// Exit codes of kubectl-studio. plan uses ExitChanges the way `terraform plan
// -detailed-exitcode` uses 2, so that CI can tell "nothing to do" from "review this"
// from "could not tell".
const (
	// ExitOK: the command succeeded (for plan: no changes, nothing held).
	ExitOK = 0
	// ExitError: the command failed; the error is on stderr.
	ExitError = 1
	// ExitChanges: plan succeeded and found changes to review (an Observe plan that
	// is not empty, or revocations held by the mass-revocation guard).
	ExitChanges = 2
)

// ChangesPresent is what a command returns when it ran fine and found changes: Run
// exits with ExitChanges and prints nothing more, since the command's output already
// shows them. Commands return it instead of exiting, so that they stay testable and
// deferred work still runs.
type ChangesPresent struct {
	// Summary says what was found, e.g. the plan's summary line.
	Summary string
}

func (c ChangesPresent) Error() string {
	return fmt.Sprintf("changes present: %s", c.Summary)
}
