package sandbox

import (
	"errors"
	"io"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
)

// Defaults of the sandbox.
const (
	DefaultStoreListen   = "127.0.0.1:0"
	DefaultInstanceID    = "studio-dev"
	DefaultNamespace     = "studio-system"
	DefaultResyncPeriod  = 15 * time.Second
	DefaultInvitationTTL = 168 * time.Hour
	// mailFrom is the sender of the sandbox's invitation mails.
	mailFrom = "Studio <no-reply@studio.localhost>"
)

// errNoDir is returned when Config.Dir is empty.
const errNoDir = "a sandbox directory is required (--dir)"

// Config says where the sandbox lives and how it runs. Zero values take the defaults.
type Config struct {
	// Dir holds everything the sandbox writes (see the package doc). Created if missing.
	Dir string
	// StoreListen is the store's listen address; port 0 means the port kept for Dir
	// (chosen at its first start), another port is used and kept from then on.
	StoreListen string
	// AssetsDir holds kube-apiserver and etcd; empty means ResolveAssetsDir.
	AssetsDir string
	// InstanceID is the manager's --instance-id (the records' managedBy).
	InstanceID string
	// Namespace is the operator's namespace (invitation Secrets); created at startup.
	Namespace string
	// ResyncPeriod is the manager's drift-correction period; short, so drift made by
	// hand in the Studio is visibly corrected while exploring.
	ResyncPeriod time.Duration
	// InvitationTTL is how long invitation links stay valid.
	InvitationTTL time.Duration
	// Progress receives human-readable progress lines (no secrets); nil discards them.
	Progress io.Writer
	// Logger receives the components' detailed logs; the zero value discards them.
	Logger logr.Logger
}

// withDefaults returns c with defaults filled in and Dir made absolute, because the
// env file and kubeconfig path must work from any directory.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New(errNoDir)
	}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, err
	}
	c.Dir = abs
	if c.StoreListen == "" {
		c.StoreListen = DefaultStoreListen
	}
	if c.InstanceID == "" {
		c.InstanceID = DefaultInstanceID
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.ResyncPeriod == 0 {
		c.ResyncPeriod = DefaultResyncPeriod
	}
	if c.InvitationTTL == 0 {
		c.InvitationTTL = DefaultInvitationTTL
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger.GetSink() == nil {
		c.Logger = logr.Discard()
	}
	return c, nil
}

func (c Config) path(name string) string { return filepath.Join(c.Dir, name) }
