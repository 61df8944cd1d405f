package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/studio-operator/studio-operator/internal/store"
)

// Options configure a Store.
type Options struct {
	// PublicURL is the base of invitation links: <PublicURL>/invite/<token>.
	PublicURL string
	// InvitationTTL is how long an invitation link works; default 168h.
	InvitationTTL time.Duration
	// Clock returns the current time; default time.Now. Tests inject their own.
	Clock func() time.Time
	// Logger receives operational messages; it never gets tokens, links or emails.
	Logger *slog.Logger
	// LinkKey is the HMAC key that derives invitation tokens from invitation IDs; it
	// is never stored in the database. If nil, SQLite keeps a random key in a file
	// beside the database (<path>.link-key, mode 0600), so links stay valid across
	// restarts; PostgreSQL needs it set, so that every replica derives the same links
	// (without it, a random key serves this process only: for tests).
	LinkKey []byte
}

// DefaultInvitationTTL is how long an invitation link works unless Options say
// otherwise.
const DefaultInvitationTTL = 168 * time.Hour

// Pool sizes. SQLite has exactly one writer connection: writes queue in the process
// instead of contending for the file lock.
const (
	sqliteReaders = 4
	postgresConns = 16
)

// committers is how many transactions write at once. SQLite has one writer. On
// PostgreSQL two: while one transaction waits for the server, the other's statements
// run, which on an idle machine is worth more than the larger batches a single queue
// would collect (measured: about 2,000 grant-set writes/s with two, 1,550 with one);
// every transaction still ends by locking the audit chain head, so commits are serial.
var committers = map[string]int{"sqlite": 1, "postgres": 2}

// Store is the Studio user store on a SQL database. It is safe for concurrent use.
type Store struct {
	d *dialect
	// writer runs every write transaction; reader serves reads outside them. They are
	// the same pool on PostgreSQL.
	writer *sql.DB
	reader *sql.DB
	// writeStmts and readStmts cache prepared statements (SQLite only).
	writeStmts *stmtCache
	readStmts  *stmtCache
	// committer batches concurrent writes into shared transactions.
	committer *committer
	// afterGrantRead, when set (tests only), runs in a pipelined grant batch between
	// reading and writing, to let a test change the database meanwhile.
	afterGrantRead func()

	publicURL  string
	ttl        time.Duration
	clock      func() time.Time
	log        *slog.Logger
	linkKey    []byte
	mailDomain string
}

var (
	_ store.Service = (*Store)(nil)
	_ store.Outbox  = (*Store)(nil)
)

// Open connects to the database named by dsn ("sqlite:///abs/path.db",
// "sqlite://relative.db", "postgres://..." or "postgresql://..."), applies the
// migrations and returns the store.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	target, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{
		d:          target.dialect,
		publicURL:  opts.PublicURL,
		ttl:        opts.InvitationTTL,
		clock:      opts.Clock,
		log:        opts.Logger,
		mailDomain: mailDomain(opts.PublicURL),
	}
	if s.ttl <= 0 {
		s.ttl = DefaultInvitationTTL
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.connect(ctx, target); err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.d, s.writer, s.log); err != nil {
		_ = s.Close()
		if classify(err) == classUnavailable {
			return nil, mapError(err)
		}
		// Say what failed: this is a start-up error for operators, not an API answer.
		return nil, err
	}
	if target.dialect == sqliteDialect {
		if s.reader, err = sql.Open(s.d.driver, sqliteDriverDSN(target.path, false)); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("open sqlite readers: %w", err)
		}
		s.reader.SetMaxOpenConns(sqliteReaders)
		s.reader.SetMaxIdleConns(sqliteReaders)
		s.writeStmts, s.readStmts = newStmtCache(s.writer), newStmtCache(s.reader)
	}
	if err := s.renormalizeEmails(ctx); err != nil {
		_ = s.Close()
		return nil, mapError(err)
	}
	if s.linkKey, err = s.resolveLinkKey(ctx, target, opts.LinkKey); err != nil {
		_ = s.Close()
		if classify(err) == classUnavailable {
			return nil, mapError(err)
		}
		return nil, err
	}
	s.committer = newCommitter(s, committers[s.d.name])
	s.log.Info("store opened", "dialect", s.d.name)
	return s, nil
}

func (s *Store) connect(ctx context.Context, target dsnTarget) error {
	switch target.dialect {
	case sqliteDialect:
		if err := prepareSQLiteFiles(target.path, s.log); err != nil {
			return err
		}
		db, err := sql.Open(s.d.driver, sqliteDriverDSN(target.path, true))
		if err != nil {
			return fmt.Errorf("open sqlite database: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		s.writer, s.reader = db, db
	case postgresDialect:
		db, err := sql.Open(s.d.driver, target.url)
		if err != nil {
			return errors.New("open postgres database: invalid connection string")
		}
		db.SetMaxOpenConns(postgresConns)
		db.SetMaxIdleConns(postgresConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.writer, s.reader = db, db
	}
	if err := s.writer.PingContext(ctx); err != nil {
		_ = s.writer.Close()
		return mapError(err)
	}
	return nil
}

// Close stops the committers (queued writes fail as unavailable) and closes the
// database connections.
func (s *Store) Close() error {
	if s.committer != nil {
		s.committer.close()
	}
	var errs []error
	s.readStmts.close()
	s.writeStmts.close()
	if s.reader != nil && s.reader != s.writer {
		errs = append(errs, s.reader.Close())
	}
	if s.writer != nil {
		errs = append(errs, s.writer.Close())
	}
	return errors.Join(errs...)
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return mapError(err)
	}
	return nil
}

// now is the store's clock, in UTC, at the precision the database keeps.
func (s *Store) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// mailDomain is the right-hand side of Message-IDs: the public host, so they are
// globally unique and say where the mail comes from.
func mailDomain(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "studio.invalid"
}

// Time helpers: the database keeps Unix microseconds.

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}
