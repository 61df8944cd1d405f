package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// NewCommand returns the studio-dev command line: `studio-dev up --dir DIR`.
func NewCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "studio-dev",
		Short:         "Local sandbox of the studio-operator: control plane, Studio user store and manager in one process",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newUpCommand())
	return root
}

func newUpCommand() *cobra.Command {
	var cfg Config
	cmd := &cobra.Command{
		Use:   "up --dir DIR",
		Short: "Start the sandbox and run it until SIGINT or SIGTERM",
		Long: `Start, in this process, a control plane (etcd and kube-apiserver, via envtest) with
the CRDs installed, the Studio user store (SQLite at DIR/studio.db, mails in DIR/mail/)
and the manager. When everything runs, DIR/kubeconfig and DIR/env are written and then
DIR/ready. "source DIR/env" sets KUBECONFIG, STUDIO_STORE_URL and STUDIO_STORE_TOKEN.
Detailed logs go to DIR/studio-dev.log. SIGINT or SIGTERM stops everything; etcd and
kube-apiserver die with studio-dev even when it is killed (Linux), and what a killed
studio-dev left behind is cleaned up at the next start. The store keeps its port for
the directory (DIR/store-port), so the invitation links it mailed stay valid.

The control-plane binaries come from $KUBEBUILDER_ASSETS, else from
bin/k8s/` + KubernetesVersion + `-<os>-<arch> of the repository (make envtest-assets).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runUp(ctx, cfg, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&cfg.Dir, "dir", "", "directory for the sandbox's state and files (created if missing)")
	cmd.Flags().StringVar(&cfg.StoreListen, "store-listen", DefaultStoreListen, "listen address of the Studio user store; port 0 keeps the port of the directory (DIR/store-port), chosen at its first start, so that invitation links keep working")
	cmd.Flags().DurationVar(&cfg.ResyncPeriod, "resync-period", DefaultResyncPeriod, "how often the manager re-checks every user against the store")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

// runUp sends the detailed logs to DIR/studio-dev.log and runs the sandbox.
func runUp(ctx context.Context, cfg Config, progress io.Writer) error {
	full, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(full.Dir, 0o755); err != nil {
		return fmt.Errorf(errDirNotWritable, full.Dir, err)
	}
	logFile, err := os.OpenFile(full.path(LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf(errDirNotWritable, full.Dir, err)
	}
	defer logFile.Close()
	logger := zap.New(zap.WriteTo(logFile), zap.UseDevMode(false))
	// controller-runtime, envtest and client-go (klog) log through globals; route them
	// to the log file too, so the terminal shows only progress lines.
	ctrllog.SetLogger(logger)
	klog.SetLogger(logger)
	cfg.Progress = progress
	cfg.Logger = logger
	fmt.Fprintf(progress, "studio-dev: detailed logs in %s\n", full.path(LogFile))
	return Up(ctx, cfg)
}
