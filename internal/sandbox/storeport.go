package sandbox

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// The store keeps its port for a directory: invitation links (in the mails, in the
// invitation Secrets, in `kubectl studio invite-link`) name it, and must still work
// after a restart. The port is kept in DIR/store-port.
//
// A new directory gets a free port derived from its path, below Linux's ephemeral
// range (32768-60999): ports there are handed out to port-0 listeners (the control
// plane's among them) and outgoing connections, so a kept port from that range would
// often be taken while the sandbox is stopped.
const (
	storePortBase  = 20000
	storePortSpan  = 12000
	storePortTries = 32
)

// Errors of the store's address.
const (
	errKeptPortInUse = "the store's port %d, kept for this directory in %s so that invitation links keep working, is in use by another process: stop it, or move the store with --store-listen %s (links mailed before then point at the old port)"
	errStorePortFile = "%s: %w (remove it to let studio-dev choose the store's port again)"
	msgStoreMoved    = "the store moves from port %d to %d (--store-listen): invitation links mailed before point at the old port"
)

// storeAddress is the store's listen address, bound early so that nothing takes it
// while the control plane starts.
type storeAddress struct {
	listener net.Listener
	// kept is the port kept for the directory before this start, 0 for none.
	kept int
}

// port is the port to keep for the directory.
func (a storeAddress) port() int { return a.listener.Addr().(*net.TCPAddr).Port }

// reserveStoreAddress binds the store's address. A port other than 0 in listen is used
// as given; port 0 means the port kept in portFile, or for a new directory a free
// port derived from dir.
func reserveStoreAddress(listen, dir, portFile string) (storeAddress, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return storeAddress{}, fmt.Errorf(errListen, listen, err)
	}
	kept, keptErr := readKeptPort(portFile)
	if port != "0" {
		// The file is rewritten after this start: a broken one does not matter.
		l, err := listenStore(listen)
		return storeAddress{listener: l, kept: kept}, err
	}
	if keptErr != nil {
		return storeAddress{}, fmt.Errorf(errStorePortFile, portFile, keptErr)
	}
	if kept != 0 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(kept)))
		if errors.Is(err, syscall.EADDRINUSE) {
			return storeAddress{}, fmt.Errorf(errKeptPortInUse, kept, portFile, net.JoinHostPort(host, "PORT"))
		}
		if err != nil {
			return storeAddress{}, fmt.Errorf(errListen, listen, err)
		}
		return storeAddress{listener: l, kept: kept}, nil
	}
	first := preferredStorePort(dir)
	for i := range storePortTries {
		p := storePortBase + (first-storePortBase+i)%storePortSpan
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return storeAddress{listener: l}, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return storeAddress{}, fmt.Errorf(errListen, listen, err)
		}
	}
	// Every candidate is taken: any free port, kept from now on all the same.
	l, err := listenStore(listen)
	return storeAddress{listener: l}, err
}

// listenStore binds addr, telling a port in use apart from other failures.
func listenStore(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf(errPortInUse, addr)
	}
	if err != nil {
		return nil, fmt.Errorf(errListen, addr, err)
	}
	return l, nil
}

// preferredStorePort derives the first port to try for a new directory from its path,
// so that sandboxes in different directories rarely try the same ports.
func preferredStorePort(dir string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(dir))
	return storePortBase + int(h.Sum32()%storePortSpan)
}

// readKeptPort returns the port kept in path, 0 when there is none yet.
func readKeptPort(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("not a port number: %q", raw)
	}
	return port, nil
}

func keepStorePort(path string, port int) error {
	return writeFileAtomic(path, []byte(strconv.Itoa(port)+"\n"), 0o644)
}
