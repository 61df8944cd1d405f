package sqlstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/studio-operator/studio-operator/internal/store"
)

// openUntracked opens a store the test closes itself (to reopen the same database).
func openUntracked(t *testing.T, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(bg, dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// plantLegacyLinkKey stores key the way earlier versions of the store kept it: hex in
// settings.link_key.
func plantLegacyLinkKey(t *testing.T, s *Store, key []byte) {
	t.Helper()
	if _, err := s.writer.ExecContext(bg, s.d.q("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"), "link_key", hex.EncodeToString(key)); err != nil {
		t.Fatal(err)
	}
}

// legacyDatabase makes the database at dsn look like one an earlier version wrote
// with opts.LinkKey: the seed, a pending invitation (returned, idempotency key uid/0)
// and the key in settings.link_key.
func legacyDatabase(t *testing.T, dsn string, opts Options) store.Invitation {
	t.Helper()
	s := openUntracked(t, dsn, opts)
	seed(t, s)
	inv, err := s.SendInvitation(bg, testCaller, "alice", "uid/0")
	if err != nil {
		t.Fatal(err)
	}
	plantLegacyLinkKey(t, s, opts.LinkKey)
	closeStore(t, s)
	return inv
}

func legacyLinkKeyRows(t *testing.T, s *Store) int {
	t.Helper()
	return count(t, s, "SELECT COUNT(*) FROM settings WHERE name = ?", "link_key")
}

// keyFileOf is where the store keeps the link key of the SQLite database at path.
func keyFileOf(path string) string { return path + ".link-key" }

func expectMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Errorf("%s: %v", filepath.Base(path), err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", filepath.Base(path), got, want)
	}
}

// Nobody but the store's own user may read the database: it holds personal data and
// the invitations' hashes, and the key beside it rebuilds every pending link.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "store")
	path := filepath.Join(dir, "studio.db")
	s := openTest(t, "sqlite://"+path, Options{PublicURL: "https://studio.example.test"})
	seed(t, s) // writes, so the WAL and the shared-memory index exist
	for name, mode := range map[string]os.FileMode{
		dir: 0o700, filepath.Dir(dir): 0o700,
		path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600, keyFileOf(path): 0o600,
	} {
		expectMode(t, name, mode)
	}
}

// A database that an earlier version left readable by others is made private when
// the store opens it; the directory, which the store did not create, is left alone.
func TestSQLiteMakesAnOlderDatabasePrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "studio.db")
	s := openUntracked(t, "sqlite://"+path, Options{})
	seed(t, s)
	closeStore(t, s)
	for _, p := range []string{path, keyFileOf(path)} {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = openTest(t, "sqlite://"+path, Options{})
	if _, err := s.GetUser(bg, "alice"); err != nil {
		t.Fatal(err)
	}
	expectMode(t, dir, 0o755)
	expectMode(t, path, 0o600)
	expectMode(t, keyFileOf(path), 0o600)
}

// A database written by an earlier version keeps its link key in settings.link_key.
// Opening it moves the key into the key file beside the database and deletes the
// row; the links of pending invitations keep working, and a replayed request still
// returns the same link.
func TestLinkKeyMovesFromTheDatabaseToItsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "studio.db")
	dsn := "sqlite://" + path
	opts := Options{PublicURL: "https://studio.example.test"}
	key := randomKey(t)

	inv := legacyDatabase(t, dsn, Options{PublicURL: opts.PublicURL, LinkKey: key})
	_ = os.Remove(keyFileOf(path))

	for _, round := range []string{"migrating", "after the migration"} {
		s := openUntracked(t, dsn, opts)
		if n := legacyLinkKeyRows(t, s); n != 0 {
			t.Errorf("%s: settings.link_key is still in the database", round)
		}
		again, err := s.SendInvitation(bg, testCaller, "alice", "uid/0")
		if err != nil || again.Link != inv.Link {
			t.Errorf("%s: replayed invitation has the same link: %v (%v)", round, again.Link == inv.Link, err)
		}
		if _, err := s.LookupInvitation(bg, tokenOf(t, inv.Link)); err != nil {
			t.Errorf("%s: the pending link no longer works: %v", round, err)
		}
		closeStore(t, s)
		expectMode(t, keyFileOf(path), 0o600)
	}
	b, err := os.ReadFile(keyFileOf(path))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), string(key)) {
		t.Error("the key file holds the raw key bytes; want its text form")
	}

	s := openTest(t, dsn, opts)
	if _, err := s.AcceptInvitation(bg, tokenOf(t, inv.Link)); err != nil {
		t.Fatalf("accepting the link made before the migration: %v", err)
	}
}

// With a configured key (PostgreSQL's only way; a Secret shared by every replica),
// a legacy copy of the same key is deleted from the database, a different one stops
// the store from opening (replayed invitations would get links that do not work), and
// without any the key never enters the database.
func TestConfiguredLinkKeyAndTheDatabaseCopy(t *testing.T) {
	for name, newDSN := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t)
			opts := Options{PublicURL: "https://studio.example.test"}
			key := randomKey(t)
			withKey := opts
			withKey.LinkKey = key

			inv := legacyDatabase(t, dsn, withKey)

			s := openUntracked(t, dsn, withKey)
			if n := legacyLinkKeyRows(t, s); n != 0 {
				t.Error("the database still holds the configured key")
			}
			if again, err := s.SendInvitation(bg, testCaller, "alice", "uid/0"); err != nil || again.Link != inv.Link {
				t.Errorf("replayed invitation has the same link: %v (%v)", again.Link == inv.Link, err)
			}
			plantLegacyLinkKey(t, s, randomKey(t))
			closeStore(t, s)

			if s, err := Open(bg, dsn, withKey); err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded with a configured key that differs from the one in the database")
			} else if strings.Contains(err.Error(), hex.EncodeToString(key)) {
				t.Error("the error shows the key")
			}

			fresh := openTest(t, newDSN(t), opts)
			seed(t, fresh)
			if _, err := fresh.SendInvitation(bg, testCaller, "alice", ""); err != nil {
				t.Fatal(err)
			}
			if n := legacyLinkKeyRows(t, fresh); n != 0 {
				t.Error("a new database got a link key")
			}
		})
	}
}

func TestReadLinkKeyFile(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		content string
		want    string
		wantErr error
	}{
		"text, newline trimmed":       {content: "0123456789abcdef0123\n", want: "0123456789abcdef0123"},
		"hex, as the store writes it": {content: "hex:" + hex.EncodeToString([]byte(" 16 bytes, spaces ")) + "\n", want: " 16 bytes, spaces "},
		"short text":                  {content: "short\n", wantErr: errLinkKeyShort},
		"short hex":                   {content: "hex:00ff", wantErr: errLinkKeyShort},
		"hex that is not":             {content: "hex:zz0123456789abcdef0123456789abcdef", wantErr: errLinkKeyHex},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadLinkKeyFile(path)
			if !errors.Is(err, tc.wantErr) || string(got) != tc.want {
				t.Errorf("ReadLinkKeyFile = %d bytes, %v; want %d bytes, %v", len(got), err, len(tc.want), tc.wantErr)
			}
		})
	}
}
