package sandbox

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The store keeps one port per directory: chosen once below the ephemeral range,
// reused on every start, moved only on request, and a kept port that someone else
// took is refused with a message naming it and the flag.
func TestReserveStoreAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	busyPort := busy.Addr().(*net.TCPAddr).Port
	free := freePort(t)

	cases := map[string]struct {
		listen   string
		kept     string // content of the port file; "" for none
		wantPort int    // 0: any port of the preferred range
		wantKept int
		wantErr  string
		wantFlag bool // the error names the flag that moves the store
	}{
		"new directory": {listen: "127.0.0.1:0"},
		"kept port is reused": {
			listen: "127.0.0.1:0", kept: strconv.Itoa(free) + "\n",
			wantPort: free, wantKept: free,
		},
		"kept port taken by another process": {
			listen: "127.0.0.1:0", kept: strconv.Itoa(busyPort),
			wantErr:  "the store's port " + strconv.Itoa(busyPort) + ", kept for this directory in ",
			wantFlag: true,
		},
		"explicit port moves the store": {
			listen: "127.0.0.1:" + strconv.Itoa(free), kept: "1234",
			wantPort: free, wantKept: 1234,
		},
		"explicit port in use": {
			listen:  busy.Addr().String(),
			wantErr: "store listen address " + busy.Addr().String() + " is already in use",
		},
		"broken port file": {
			listen: "127.0.0.1:0", kept: "not a port",
			wantErr: "remove it to let studio-dev choose the store's port again",
		},
		"broken port file, explicit port": {
			listen: "127.0.0.1:" + strconv.Itoa(free), kept: "not a port",
			wantPort: free,
		},
		"no port": {listen: "127.0.0.1", wantErr: "store listen address 127.0.0.1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			portFile := filepath.Join(dir, StorePortFile)
			if tc.kept != "" {
				if err := os.WriteFile(portFile, []byte(tc.kept), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			addr, err := reserveStoreAddress(tc.listen, dir, portFile)
			if tc.wantErr != "" {
				if err == nil {
					addr.listener.Close()
					t.Fatalf("reserved %s, want an error with %q", addr.listener.Addr(), tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %q, want it to contain %q", err, tc.wantErr)
				}
				if tc.wantFlag && !strings.Contains(err.Error(), "--store-listen 127.0.0.1:PORT") {
					t.Errorf("error %q does not name the flag that moves the store", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer addr.listener.Close()
			got := addr.port()
			switch {
			case tc.wantPort != 0 && got != tc.wantPort:
				t.Errorf("port = %d, want %d", got, tc.wantPort)
			case tc.wantPort == 0 && (got < storePortBase || got >= storePortBase+storePortSpan):
				t.Errorf("port = %d, want one in [%d, %d)", got, storePortBase, storePortBase+storePortSpan)
			}
			if addr.kept != tc.wantKept {
				t.Errorf("kept = %d, want %d", addr.kept, tc.wantKept)
			}
		})
	}
}

// A new directory whose preferred port is taken gets the next one.
func TestReserveStoreAddressSkipsTakenPorts(t *testing.T) {
	// A directory whose preferred port is free here, so that the test can take it.
	var (
		dir       string
		preferred int
		taken     net.Listener
	)
	for range 20 {
		dir = t.TempDir()
		preferred = preferredStorePort(dir)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(preferred)))
		if err == nil {
			taken = l
			break
		}
	}
	if taken == nil {
		t.Fatal("no directory of 20 has a free preferred port on 127.0.0.1")
	}
	defer taken.Close()
	addr, err := reserveStoreAddress("127.0.0.1:0", dir, filepath.Join(dir, StorePortFile))
	if err != nil {
		t.Fatal(err)
	}
	defer addr.listener.Close()
	if got := addr.port(); got == preferred {
		t.Errorf("got the taken port %d", got)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
