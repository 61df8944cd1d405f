//go:build !linux

package sandbox

import "errors"

// parentDeathSignalSupported: only Linux has a parent-death signal; elsewhere the
// control plane is started directly and may outlive a killed sandbox.
const parentDeathSignalSupported = false

func execControlPlaneBinary(string) error {
	return errors.New("no parent-death signal on this system")
}
