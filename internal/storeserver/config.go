package storeserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/store/mail"
)

// Config is the configuration of `studio-store serve`.
type Config struct {
	// Listen is the address of the HTTP server (host:port; port 0 picks one).
	Listen string
	// DB is the database: sqlite:///path.db or postgres://...
	DB string
	// PublicURL is the base of invitation links; "" means http://<listen address>.
	PublicURL string
	// TokensFile lists the bearer tokens (see internal/store/auth).
	TokensFile string
	// AdminToken, from $STUDIO_STORE_ADMIN_TOKEN, adds an admin token.
	AdminToken string
	// SMTPURL delivers invitation mails over SMTP; "" writes .eml files to MailDir.
	SMTPURL string
	// MailFrom is the From of invitation mails.
	MailFrom string
	// MailDir receives .eml files when SMTPURL is empty.
	MailDir string
	// InvitationTTL is how long an invitation link works.
	InvitationTTL time.Duration
	// LinkKeyFile holds the key that derives invitation tokens (from
	// $STUDIO_STORE_LINK_KEY_FILE when the flag is not given). "" keeps a generated key
	// in a file beside a SQLite database; PostgreSQL requires it.
	LinkKeyFile string
	// MailPollInterval is the longest the mail worker waits between outbox passes.
	MailPollInterval time.Duration
	// MailLease is how long a claimed mail is reserved for this replica; after a
	// crash its unsent mails wait that long for another claim.
	MailLease time.Duration
	// MailSendTimeout bounds one SMTP conversation (or one .eml write).
	MailSendTimeout time.Duration
	// AuditCheckInterval is how often the store checks its audit chain for the
	// studio_store_audit_chain_* metrics; 0 checks only when the audit page asks.
	AuditCheckInterval time.Duration
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
	// LogFormat is text or json; LogLevel debug, info, warn or error.
	LogFormat string
	LogLevel  string
}

// Defaults of the serve flags.
const (
	DefaultListen           = "127.0.0.1:8080"
	DefaultDB               = "sqlite://./studio.db" // relative to the working directory
	DefaultMailDir          = "./mail"
	DefaultMailFrom         = "Studio <studio@localhost>"
	DefaultInvitationTTL    = 168 * time.Hour
	DefaultMailPollInterval = 10 * time.Second
	DefaultMailLease        = mail.DefaultLease
	DefaultMailSendTimeout  = mail.DefaultSendTimeout
	DefaultShutdownTimeout  = 30 * time.Second
	// DefaultAuditCheckInterval: a check walks the whole log, about 2 s of CPU for
	// 225,000 entries.
	DefaultAuditCheckInterval = time.Hour
	DefaultLogFormat          = "text"
	DefaultLogLevel           = "info"
)

// DefaultConfig returns the configuration of `studio-store serve` without flags.
func DefaultConfig() Config {
	return Config{
		Listen:             DefaultListen,
		DB:                 DefaultDB,
		MailDir:            DefaultMailDir,
		MailFrom:           DefaultMailFrom,
		InvitationTTL:      DefaultInvitationTTL,
		MailPollInterval:   DefaultMailPollInterval,
		MailLease:          DefaultMailLease,
		MailSendTimeout:    DefaultMailSendTimeout,
		ShutdownTimeout:    DefaultShutdownTimeout,
		AuditCheckInterval: DefaultAuditCheckInterval,
		LogFormat:          DefaultLogFormat,
		LogLevel:           DefaultLogLevel,
	}
}

// Configuration errors. They name the flag and never repeat a value that may hold a
// secret (the SMTP URL carries a password, the database URL too).
var (
	errListen       = errors.New("--listen must be host:port, e.g. 127.0.0.1:8080")
	errDB           = errors.New("--db must be sqlite:///absolute/path.db, sqlite://relative/path.db or postgres://user@host/db")
	errPublicURL    = errors.New("--public-url must be an absolute http or https URL without query or fragment")
	errNoTokens     = errors.New("no bearer token: set --tokens-file or $STUDIO_STORE_ADMIN_TOKEN (the store refuses to start without a way to authenticate)")
	errSMTPURL      = errors.New("--smtp-url must be smtp://[user:password@]host[:port] or smtps://...")
	errMailFrom     = errors.New(`--mail-from must be an address such as "Studio <studio@example.com>"`)
	errMailDir      = errors.New("--mail-dir is required when --smtp-url is not set")
	errTTL          = errors.New("--invitation-ttl must be positive")
	errPollInterval = errors.New("--mail-poll-interval must be positive")
	errSendTimeout  = errors.New("--mail-send-timeout must be positive")
	errMailLease    = fmt.Errorf("--mail-lease must exceed --mail-send-timeout by more than %v (the time to record the last send)", mail.LeaseMargin)
	errShutdown     = errors.New("--shutdown-timeout must be positive")
	errAuditCheck   = errors.New("--audit-check-interval must be 0 (check only when the audit page asks) or at least 1m")
	errLogFormat    = errors.New("--log-format must be text or json")
	errLogLevel     = errors.New("--log-level must be debug, info, warn or error")
	// errLinkKeyRequired is checked at start: a configuration without it is valid
	// for SQLite.
	errLinkKeyRequired = errors.New("--link-key-file (or $" + LinkKeyFileEnv + ") is required with PostgreSQL: " +
		"every replica must derive invitation links from the same key, so mount one file, e.g. from a Secret, in all of them")
)

// LinkKeyFileEnv names the variable that sets --link-key-file when the flag is not
// given.
const LinkKeyFileEnv = "STUDIO_STORE_LINK_KEY_FILE"

// Validate checks the configuration without touching the network or the disk, and
// reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, err error) {
		if !ok {
			errs = append(errs, err)
		}
	}
	check(validListen(c.Listen), errListen)
	check(validDB(c.DB), errDB)
	check(c.PublicURL == "" || validHTTPURL(c.PublicURL), errPublicURL)
	check(c.TokensFile != "" || c.AdminToken != "", errNoTokens)
	check(c.SMTPURL == "" || validSMTPURL(c.SMTPURL), errSMTPURL)
	_, mailFromErr := netmail.ParseAddress(c.MailFrom)
	check(mailFromErr == nil, errMailFrom)
	check(c.SMTPURL != "" || c.MailDir != "", errMailDir)
	check(c.InvitationTTL > 0, errTTL)
	check(c.MailPollInterval > 0, errPollInterval)
	check(c.MailSendTimeout > 0, errSendTimeout)
	check(c.MailSendTimeout <= 0 || c.MailLease > c.MailSendTimeout+mail.LeaseMargin, errMailLease)
	check(c.ShutdownTimeout > 0, errShutdown)
	check(c.AuditCheckInterval == 0 || c.AuditCheckInterval >= time.Minute, errAuditCheck)
	_, formatErr := newLogHandlerFunc(c.LogFormat)
	check(formatErr == nil, errLogFormat)
	_, levelErr := parseLevel(c.LogLevel)
	check(levelErr == nil, errLogLevel)
	return errors.Join(errs...)
}

func validListen(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port != ""
}

func validDB(dsn string) bool {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok || rest == "" {
		return false
	}
	switch scheme {
	case "sqlite":
		return strings.Trim(rest, "/") != ""
	case "postgres", "postgresql":
		return true
	}
	return false
}

func validHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}

func validSMTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "smtp" || u.Scheme == "smtps") && u.Hostname() != ""
}

// publicURL is the configured public URL or the one of the listener.
func publicURL(configured string, addr net.Addr) string {
	if configured != "" {
		return strings.TrimSuffix(configured, "/")
	}
	return "http://" + addr.String()
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		return l, l.UnmarshalText([]byte(s))
	}
	return l, fmt.Errorf("unknown log level %q", s)
}
