package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestStartGivesIsolatedDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("two tests got the same database %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var exists bool
	if err := cb.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 't')").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("a table created in one test database shows up in another")
	}
	var addr string
	if err := ca.QueryRow(ctx, "SELECT host(inet_server_addr())").Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Fatalf("server address = %q, %v; want 127.0.0.1 only", addr, err)
	}
}

func TestStartFromCopiesThePreparedTemplate(t *testing.T) {
	ctx := context.Background()
	prepared := 0
	prepare := func(ctx context.Context, dsn string) error {
		prepared++
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "CREATE TABLE seeded (x int); INSERT INTO seeded VALUES (42)")
		return err
	}
	for range 2 {
		dsn := StartFrom(t, "seeded", prepare)
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var x int
		err = c.QueryRow(ctx, "SELECT x FROM seeded").Scan(&x)
		c.Close(ctx)
		if err != nil || x != 42 {
			t.Fatalf("copy of the template: x = %d, %v", x, err)
		}
	}
	if prepared != 1 {
		t.Fatalf("template prepared %d times, want once", prepared)
	}
}

func TestFindBinDir(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"9.6", "13", "15", "16"} {
		bin := filepath.Join(dir, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if v == "16" {
			continue // incomplete install: no binaries
		}
		for _, name := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("PATH", t.TempDir())
	old := binGlob
	t.Cleanup(func() { binGlob = old })

	binGlob = filepath.Join(dir, "*", "bin")
	got, err := findBinDir()
	if err != nil || got != filepath.Join(dir, "15", "bin") {
		t.Fatalf("findBinDir = %q, %v; want the highest complete version (15)", got, err)
	}

	binGlob = filepath.Join(t.TempDir(), "*", "bin")
	_, err = findBinDir()
	if !errors.Is(err, ErrNoBinaries) || err.Error() != "PostgreSQL server binaries not found: run `make postgres` or install postgresql" {
		t.Fatalf("no binaries: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for name, tc := range map[string]struct {
		a, b string
		want int
	}{
		"major":       {"9", "15", -1},
		"minor":       {"9.6", "9.5", 1},
		"equal":       {"15", "15.0", 0},
		"numeric not": {"10", "9.6", 1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: compareVersions(%s, %s) = %d, want %d", name, tc.a, tc.b, got, tc.want)
		}
	}
}
