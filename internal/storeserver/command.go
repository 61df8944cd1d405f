package storeserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/studio-operator/studio-operator/internal/buildinfo"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/mail"
)

const serveExamples = `  # Local development: SQLite file, mails written as .eml files to ./mail
  STUDIO_STORE_ADMIN_TOKEN=dev-token studio-store serve

  # Production: PostgreSQL, SMTP, tokens from a file
  studio-store serve --listen 0.0.0.0:8080 \
    --db postgres://studio@db.internal/studio \
    --public-url https://studio.example.com \
    --tokens-file /etc/studio-store/tokens \
    --smtp-url smtp://mailer:secret@smtp.example.com:587 \
    --mail-from "Studio <studio@example.com>"

  # A tokens file line for a new token:
  echo "admin operator $(printf %s "$TOKEN" | studio-store hash-token)" >> tokens`

// NewCommand returns the studio-store command line.
func NewCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "studio-store",
		Short:         "The Studio user store: the system of record the studio-operator reconciles into",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(), newVersionCommand(), newHashTokenCommand())
	return root
}

func newServeCommand() *cobra.Command {
	cfg := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the store's HTTP API and deliver invitation mails",
		Long: `Serve the store's HTTP API (/api/v1, /openapi.yaml), the invitation link pages
(/invite/...), /healthz, /readyz and /metrics, and deliver invitation mails from the
transactional outbox.

Bearer tokens come from --tokens-file (lines "<role> <subject> sha256:<hex>", role
admin or reader) and from $STUDIO_STORE_ADMIN_TOKEN (an admin token, subject "admin").
The store refuses to start without any token.

Invitation links are derived from a key that is never kept in the database: on SQLite
a file beside it (<database>.link-key, mode 0600) unless --link-key-file names one; on
PostgreSQL --link-key-file is required, one file (e.g. from a Secret) for every replica.

SIGINT or SIGTERM stop it gracefully: no new requests, requests under way finish, the
mail under way is delivered, the database is closed.`,
		Example: serveExamples,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.AdminToken = os.Getenv(auth.AdminTokenEnv)
			if cfg.LinkKeyFile == "" {
				cfg.LinkKeyFile = os.Getenv(LinkKeyFileEnv)
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			log, err := NewLogger(cmd.ErrOrStderr(), cfg.LogFormat, cfg.LogLevel)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return Run(ctx, cfg, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the HTTP server")
	f.StringVar(&cfg.DB, "db", cfg.DB, "database: sqlite:///absolute/path.db, sqlite://relative/path.db or postgres://...")
	f.StringVar(&cfg.PublicURL, "public-url", "", "base URL of invitation links (default http://<listen address>)")
	f.StringVar(&cfg.TokensFile, "tokens-file", "", `bearer tokens, one per line: "<admin|reader> <subject> sha256:<hex of the token>"`)
	f.StringVar(&cfg.SMTPURL, "smtp-url", "", "deliver mails over SMTP: smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://...; without it mails are written to --mail-dir")
	f.StringVar(&cfg.MailFrom, "mail-from", cfg.MailFrom, "From of invitation mails")
	f.StringVar(&cfg.MailDir, "mail-dir", cfg.MailDir, "directory for .eml files when --smtp-url is not set")
	f.DurationVar(&cfg.InvitationTTL, "invitation-ttl", cfg.InvitationTTL, "how long an invitation link works")
	f.StringVar(&cfg.LinkKeyFile, "link-key-file", "", "file with the key that derives invitation tokens: \"hex:<hex>\" or text of at least 16 bytes; required with PostgreSQL "+
		"(one Secret for every replica); default $"+LinkKeyFileEnv+", else for SQLite a key generated once into <database>.link-key (mode 0600)")
	f.DurationVar(&cfg.MailPollInterval, "mail-poll-interval", cfg.MailPollInterval, "longest wait between two passes over the mail outbox")
	f.DurationVar(&cfg.MailLease, "mail-lease", cfg.MailLease, "how long a claimed mail is reserved for this replica: after a crash, its unsent mails are claimed again once it runs out; must exceed --mail-send-timeout by more than "+mail.LeaseMargin.String())
	f.DurationVar(&cfg.AuditCheckInterval, "audit-check-interval", cfg.AuditCheckInterval, "how often to check the audit chain for the studio_store_audit_chain_* metrics (at start, then at this interval); 0 checks only when the audit page asks")
	f.DurationVar(&cfg.MailSendTimeout, "mail-send-timeout", cfg.MailSendTimeout, "how long one delivery (an SMTP conversation or an .eml write) may take")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long a graceful shutdown may take")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn or error")
	return cmd
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "studio-store", buildinfo.String())
			return err
		},
	}
}

func newHashTokenCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-token",
		Short: "Read a token on standard input and print its digest for --tokens-file",
		Example: `  printf %s "$TOKEN" | studio-store hash-token
  # sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token, err := readToken(cmd.InOrStdin())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), auth.HashToken(token))
			return err
		},
	}
}

// readToken reads the first line of r, without its line ending.
func readToken(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	token := strings.TrimRight(line, "\r\n")
	if token == "" {
		return "", errors.New("no token on standard input")
	}
	return token, nil
}

// Main runs the command line and returns the process exit code.
func Main() int {
	if err := NewCommand().ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "studio-store:", err)
		return 1
	}
	return 0
}
