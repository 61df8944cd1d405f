package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Messages of the errors this package returns. They never hold SQL, keys of secrets or
// email addresses.
const (
	msgAgencyNotFound      = "agency not found"
	msgEnvironmentNotFound = "environment not found"
	msgUserNotFound        = "user not found"
	msgInvitationNotFound  = "invitation not found"
	msgOutboxNotFound      = "outbox message not found"
	msgUserRemoved         = "user is removed; only PutUser can create it again"
	msgEmailInUse          = "email is already used by another user"
	msgManagedByOther      = "record is managed by another manager"
	msgHasDependents       = "agency still has environments"
	msgInvitationGone      = "invitation is no longer valid (used, replaced, withdrawn or expired)"
	msgUnknownAgency       = "agency does not exist"
	msgUnknownEnvironment  = "environment does not exist"
	msgUnknownReference    = "a referenced record does not exist"
	msgConflict            = "concurrent change; retry"
	msgInternal            = "internal database error"
)

// errClass says how a database error should be handled.
type errClass int

const (
	classOther errClass = iota
	// classRetry: the transaction lost a race (serialization failure, deadlock,
	// duplicate key of a row created concurrently) and may simply be run again.
	classRetry
	// classUnavailable: the database cannot be reached or is shutting down.
	classUnavailable
	// classUniqueEmail: the unique index on live users' email.
	classUniqueEmail
	// classForeignKey: a referenced row disappeared concurrently.
	classForeignKey
)

// PostgreSQL SQLSTATEs we act on.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgTooManyConnections   = "53300"
	pgAdminShutdown        = "57P01"
	pgCrashShutdown        = "57P02"
	pgCannotConnectNow     = "57P03"
	pgClassConnection      = "08"
)

const emailIndex = "users_email_live"

// errDBClosedText is database/sql's (unexported) error for a closed pool: the store is
// shutting down, so callers should retry elsewhere or later.
const errDBClosedText = "sql: database is closed"

// classify sorts a database error.
func classify(err error) errClass {
	if err == nil {
		return classOther
	}
	var race *raceError
	if errors.As(err, &race) {
		return classRetry
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == pgUniqueViolation && pgErr.ConstraintName == emailIndex:
			return classUniqueEmail
		case pgErr.Code == pgUniqueViolation, pgErr.Code == pgSerializationFailure, pgErr.Code == pgDeadlockDetected:
			return classRetry
		case pgErr.Code == pgForeignKeyViolation:
			return classForeignKey
		case pgErr.Code == pgTooManyConnections, pgErr.Code == pgAdminShutdown, pgErr.Code == pgCrashShutdown,
			pgErr.Code == pgCannotConnectNow, len(pgErr.Code) == 5 && pgErr.Code[:2] == pgClassConnection:
			return classUnavailable
		}
		return classOther
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		switch {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			if strings.Contains(liteErr.Error(), "users.email_norm") {
				return classUniqueEmail
			}
			return classRetry
		case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return classForeignKey
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED,
			code&0xff == sqlite3.SQLITE_IOERR, code&0xff == sqlite3.SQLITE_CANTOPEN, code&0xff == sqlite3.SQLITE_FULL:
			return classUnavailable
		}
		return classOther
	}
	if strings.Contains(err.Error(), errDBClosedText) {
		return classUnavailable
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return classUnavailable
	}
	return classOther
}

// mapError turns what a transaction returned into the store's typed error. *store.Error
// values pass through; database errors become a code without their SQL text.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var se *store.Error
	if errors.As(err, &se) {
		return err
	}
	switch classify(err) {
	case classUnavailable:
		return store.Unavailable(err)
	case classUniqueEmail:
		return &store.Error{Code: store.CodeEmailInUse, Field: "email", Message: msgEmailInUse, Err: err}
	case classForeignKey:
		return &store.Error{Code: store.CodeUnknownReference, Message: msgUnknownReference, Err: err}
	case classRetry:
		// Still losing the race after every retry: worth retrying later.
		return &store.Error{Code: store.CodeUnavailable, Message: msgConflict, Err: err}
	}
	return &store.Error{Code: store.CodeInternal, Message: msgInternal, Err: err}
}
