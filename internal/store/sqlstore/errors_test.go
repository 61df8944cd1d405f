package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/studio-operator/studio-operator/internal/store"
)

func TestMapError(t *testing.T) {
	for name, tc := range map[string]struct {
		err   error
		code  store.Code
		field string
	}{
		"store error passes":  {store.Errorf(store.CodeEmailInUse, "email", "x"), store.CodeEmailInUse, "email"},
		"email index":         {&pgconn.PgError{Code: pgUniqueViolation, ConstraintName: emailIndex}, store.CodeEmailInUse, "email"},
		"other unique":        {&pgconn.PgError{Code: pgUniqueViolation, ConstraintName: "users_pkey"}, store.CodeUnavailable, ""},
		"serialization":       {&pgconn.PgError{Code: pgSerializationFailure}, store.CodeUnavailable, ""},
		"foreign key":         {&pgconn.PgError{Code: pgForeignKeyViolation}, store.CodeUnknownReference, ""},
		"admin shutdown":      {&pgconn.PgError{Code: pgAdminShutdown}, store.CodeUnavailable, ""},
		"connection failure":  {&pgconn.PgError{Code: "08006"}, store.CodeUnavailable, ""},
		"syntax error":        {&pgconn.PgError{Code: "42601", Message: "syntax error at SELECT"}, store.CodeInternal, ""},
		"refused":             {fmt.Errorf("dial: %w", syscall.ECONNREFUSED), store.CodeUnavailable, ""},
		"bad conn":            {driver.ErrBadConn, store.CodeUnavailable, ""},
		"deadline":            {context.DeadlineExceeded, store.CodeUnavailable, ""},
		"lost race":           {errLostRace, store.CodeUnavailable, ""},
		"something else":      {errors.New("boom"), store.CodeInternal, ""},
		"wrapped store error": {fmt.Errorf("x: %w", store.Errorf(store.CodeNotFound, "", "gone")), store.CodeNotFound, ""},
	} {
		t.Run(name, func(t *testing.T) {
			err := mapError(tc.err)
			var se *store.Error
			if !errors.As(err, &se) || se.Code != tc.code || se.Field != tc.field {
				t.Fatalf("mapError = %v, want %s on %q", err, tc.code, tc.field)
			}
			if strings.Contains(se.Message, "SELECT") {
				t.Fatalf("message leaks SQL: %q", se.Message)
			}
		})
	}
	if mapError(nil) != nil {
		t.Fatal("mapError(nil) != nil")
	}
}

func TestClassifyRetries(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want errClass
	}{
		"deadlock":      {&pgconn.PgError{Code: pgDeadlockDetected}, classRetry},
		"serialization": {&pgconn.PgError{Code: pgSerializationFailure}, classRetry},
		"duplicate key": {&pgconn.PgError{Code: pgUniqueViolation}, classRetry},
		"lost race":     {fmt.Errorf("apply: %w", errLostRace), classRetry},
		"not a race":    {errors.New("boom"), classOther},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%s: classify = %v, want %v", name, got, tc.want)
		}
	}
}

// SQLite constraint errors are recognised from the real driver's errors.
func TestClassifySQLiteConstraints(t *testing.T) {
	s := openTest(t, "sqlite://"+filepath.Join(t.TempDir(), "studio.db"), Options{})
	seed(t, s)
	insertUser := "INSERT INTO users (key, email, email_norm, display_name, type, locale, suspended, lifecycle, created_at, updated_at) VALUES (?, ?, ?, '', 'User', '', 0, 'Invited', 0, 0)"
	_, err := s.writer.ExecContext(bg, insertUser, "alice2", "alice@example.com", "alice@example.com")
	if classify(err) != classUniqueEmail {
		t.Fatalf("duplicate live email: classify(%v) = %v, want the email class", err, classify(err))
	}
	_, err = s.writer.ExecContext(bg, insertUser, "alice", "other@example.com", "other@example.com")
	if classify(err) != classRetry {
		t.Fatalf("duplicate key: classify(%v) = %v, want retry", err, classify(err))
	}
	_, err = s.writer.ExecContext(bg, "INSERT INTO grants (user_key, scope, agency_key, roles) VALUES ('alice', 'agency/nope', 'nope', 'Agent')")
	if classify(err) != classForeignKey {
		t.Fatalf("missing agency: classify(%v) = %v, want foreign key", err, classify(err))
	}
}
