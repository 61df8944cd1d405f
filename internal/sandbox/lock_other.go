//go:build !unix

package sandbox

// lockDir does nothing where flock is unavailable: the sandbox is a development tool
// and the control-plane binaries are built for unix anyway.
func lockDir(path, dir string) (release func(), err error) {
	return func() {}, nil
}

// fileLocked cannot tell without flock: it reports the file free.
func fileLocked(string) (bool, error) { return false, nil }
