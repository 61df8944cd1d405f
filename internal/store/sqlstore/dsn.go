package sqlstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// errBadDSN is returned for a DSN that names no supported database.
var errBadDSN = errors.New(`unsupported database DSN: use "sqlite:///absolute/path.db", "sqlite://relative/path.db", "postgres://..." or "postgresql://..."`)

// dsnTarget is a parsed DSN: the dialect and what its driver needs.
type dsnTarget struct {
	dialect *dialect
	// path is the SQLite database file.
	path string
	// url is the PostgreSQL connection URL, as given.
	url string
}

// parseDSN recognises "sqlite:///abs.db", "sqlite://rel.db", "postgres://..." and
// "postgresql://...".
func parseDSN(dsn string) (dsnTarget, error) {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsnTarget{}, errBadDSN
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path, query, _ := strings.Cut(rest, "?")
		if query != "" {
			return dsnTarget{}, fmt.Errorf("sqlite DSN takes no options (the store sets its own pragmas): %w", errBadDSN)
		}
		if path == "" {
			return dsnTarget{}, fmt.Errorf("sqlite DSN without a file path: %w", errBadDSN)
		}
		unescaped, err := url.PathUnescape(path)
		if err != nil {
			return dsnTarget{}, fmt.Errorf("sqlite DSN path: %w", err)
		}
		return dsnTarget{dialect: sqliteDialect, path: unescaped}, nil
	case "postgres", "postgresql":
		if _, err := url.Parse(dsn); err != nil {
			// url.Parse errors quote the whole URL, which may hold a password.
			return dsnTarget{}, fmt.Errorf("postgres DSN is not a valid URL: %w", errBadDSN)
		}
		if _, err := pgx.ParseConfig(dsn); err != nil {
			// pgx redacts the password in its parse errors.
			return dsnTarget{}, fmt.Errorf("postgres DSN: %w", err)
		}
		return dsnTarget{dialect: postgresDialect, url: dsn}, nil
	default:
		return dsnTarget{}, errBadDSN
	}
}

// sqliteDriverDSN is the modernc.org/sqlite DSN for path: WAL so readers never block
// the writer, synchronous=NORMAL (durable at checkpoints, safe with WAL), foreign keys
// on, and a busy timeout so another process's writer makes us wait instead of fail.
// The writer begins its transactions IMMEDIATE: taking the write lock up front means
// a transaction never has to upgrade a read lock, which SQLite cannot wait for.
func sqliteDriverDSN(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return path + "?" + q.Encode()
}
