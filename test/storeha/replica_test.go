package storeha

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/test/internal/childproc"
)

// replicaStartTimeout bounds a replica's start, until /readyz answers 200.
const replicaStartTimeout = 30 * time.Second

// replicaConfig is what every replica shares: one binary, one database, one link key,
// one tokens file, one public URL (the Service in front of them).
type replicaConfig struct {
	bin, dsn, publicURL, tokensFile, linkKeyFile string
	// logDir receives <name>.log, the replica's output.
	logDir string
}

// replica is one running `studio-store serve`.
type replica struct {
	name string
	url  string // where this replica listens, http://127.0.0.1:<port>
	proc *childproc.Proc
	done <-chan struct{} // closed when the process has exited
}

// startReplica starts studio-store on a free port of 127.0.0.1, delivering mail to
// smtpURL, and waits until its /readyz answers 200. The process is killed when the
// test ends, and also if the test binary dies first.
func startReplica(t *testing.T, name string, cfg replicaConfig, smtpURL string) (*replica, error) {
	port, err := childproc.FreePort()
	if err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := childproc.Start(childproc.Spec{
		Name: name, Bin: cfg.bin, LogPath: filepath.Join(cfg.logDir, name+".log"),
		Args: []string{
			"serve",
			"--listen", listen,
			"--db", cfg.dsn,
			"--public-url", cfg.publicURL,
			"--tokens-file", cfg.tokensFile,
			"--link-key-file", cfg.linkKeyFile,
			"--smtp-url", smtpURL,
			// A poll every second bounds how long the survivor takes to notice mails
			// whose lease ran out (the default is 10s).
			"--mail-poll-interval", "1s",
			"--log-format", "json",
		},
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = p.Kill() })
	r := &replica{name: name, url: "http://" + listen, proc: p, done: p.Done()}
	if err := childproc.WaitHTTP200(context.Background(), p, r.url+"/readyz", replicaStartTimeout); err != nil {
		return nil, fmt.Errorf("%w:\n%s", err, p.Tail(15))
	}
	return r, nil
}

// kill SIGKILLs the process, with no chance to clean up, and waits until it is gone.
// Killing an exited replica does nothing.
func (r *replica) kill() { _ = r.proc.Kill() }
