package sqlstore

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	for name, tc := range map[string]struct {
		dsn     string
		dialect *dialect
		path    string
		bad     bool
	}{
		"sqlite absolute":       {dsn: "sqlite:///var/lib/studio/studio.db", dialect: sqliteDialect, path: "/var/lib/studio/studio.db"},
		"sqlite relative":       {dsn: "sqlite://data/studio.db", dialect: sqliteDialect, path: "data/studio.db"},
		"sqlite escaped":        {dsn: "sqlite:///tmp/my%20studio.db", dialect: sqliteDialect, path: "/tmp/my studio.db"},
		"postgres":              {dsn: "postgres://u:p@db:5432/studio?sslmode=disable", dialect: postgresDialect},
		"postgresql":            {dsn: "postgresql://db/studio", dialect: postgresDialect},
		"mysql":                 {dsn: "mysql://db/studio", bad: true},
		"no scheme":             {dsn: "/var/lib/studio.db", bad: true},
		"sqlite without a path": {dsn: "sqlite://", bad: true},
		"sqlite with options":   {dsn: "sqlite:///x.db?_pragma=foo", bad: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseDSN(tc.dsn)
			if tc.bad {
				if !errors.Is(err, errBadDSN) {
					t.Fatalf("error %v, want one naming the accepted forms", err)
				}
				for _, form := range []string{"sqlite:///", "postgres://", "postgresql://"} {
					if !strings.Contains(err.Error(), form) {
						t.Fatalf("error %q does not name %s", err, form)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.dialect != tc.dialect || got.path != tc.path {
				t.Fatalf("parseDSN = %s %q, want %s %q", got.dialect.name, got.path, tc.dialect.name, tc.path)
			}
			if tc.dialect == postgresDialect && got.url != tc.dsn {
				t.Fatalf("postgres url %q, want the DSN unchanged", got.url)
			}
		})
	}
}

func TestSQLiteDriverDSN(t *testing.T) {
	w := sqliteDriverDSN("/x/studio.db", true)
	for _, want := range []string{"busy_timeout", "journal_mode%28WAL%29", "foreign_keys%281%29", "synchronous%28NORMAL%29", "_txlock=immediate"} {
		if !strings.Contains(w, want) {
			t.Errorf("writer DSN %q lacks %s", w, want)
		}
	}
	r := sqliteDriverDSN("/x/studio.db", false)
	if !strings.Contains(r, "query_only%281%29") || strings.Contains(r, "_txlock") {
		t.Errorf("reader DSN %q: want query_only and no write lock", r)
	}
}

func TestParseDSNKeepsPasswordsOut(t *testing.T) {
	_, err := parseDSN("postgres://user:hunter2@db:notaport/studio")
	if err == nil {
		t.Fatal("a DSN with a bad port was accepted")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %q leaks the password", err)
	}
}
