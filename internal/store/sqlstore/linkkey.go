package sqlstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The link key derives every invitation token from its invitation ID, so whoever
// reads it can rebuild the link of every pending invitation. It is never kept in the
// database: it comes from Options.LinkKey (studio-store's --link-key-file, on
// PostgreSQL a Secret mounted in every replica) or, for SQLite, from a key file beside
// the database, created 0600 on first open. Earlier versions kept it in the
// settings row link_key; opening such a database moves the key out (docs/operations.md,
// "The invitation link key").

const (
	// legacyLinkKeySetting is the settings row where earlier versions kept the key.
	legacyLinkKeySetting = "link_key"
	linkKeyBytes         = 32
	// MinLinkKeyBytes is the least key material a key file must hold.
	MinLinkKeyBytes = 16
	// linkKeyFileSuffix names the SQLite database's key file: studio.db.link-key.
	linkKeyFileSuffix = ".link-key"
	// hexKeyPrefix marks a key file holding hex-encoded key bytes, the form the store
	// writes itself (random bytes need not be text).
	hexKeyPrefix = "hex:"
)

var (
	errLinkKeyShort    = fmt.Errorf("the key must have at least %d bytes", MinLinkKeyBytes)
	errLinkKeyHex      = errors.New(`the key after "hex:" is not hexadecimal`)
	errLinkKeyConflict = errors.New("the database still holds an invitation link key (settings row link_key) " +
		"that differs from the configured one; invitations sent with it would be replayed with links that do not work. " +
		`Put that key into the key file as "hex:<value of the row>", or delete the row to give those replays up`)
)

// ReadLinkKeyFile reads a link key file: "hex:" followed by the key in hexadecimal
// (what the store writes), or any other text of at least MinLinkKeyBytes bytes, used
// as it is. Surrounding white space, such as a final newline, is ignored. Errors name
// the problem, never the content.
func ReadLinkKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseLinkKey(b)
}

func parseLinkKey(b []byte) ([]byte, error) {
	b = bytes.TrimSpace(b)
	if h, ok := bytes.CutPrefix(b, []byte(hexKeyPrefix)); ok {
		key := make([]byte, hex.DecodedLen(len(h)))
		if _, err := hex.Decode(key, h); err != nil {
			return nil, errLinkKeyHex
		}
		b = key
	}
	if len(b) < MinLinkKeyBytes {
		return nil, errLinkKeyShort
	}
	return b, nil
}

// linkKeyFile is the key file of a SQLite database at dbPath.
func linkKeyFile(dbPath string) string { return dbPath + linkKeyFileSuffix }

// resolveLinkKey decides the store's link key, moving a legacy copy out of the
// database: configured is Options.LinkKey.
func (s *Store) resolveLinkKey(ctx context.Context, target dsnTarget, configured []byte) ([]byte, error) {
	legacy, err := s.legacyLinkKey(ctx)
	if err != nil {
		return nil, err
	}
	key := configured
	if len(key) == 0 && target.dialect == sqliteDialect {
		if key, err = s.sqliteLinkKey(linkKeyFile(target.path), legacy); err != nil {
			return nil, err
		}
	}
	if len(key) == 0 {
		// PostgreSQL without a configured key: only tests and development get here,
		// studio-store refuses it (replicas must share one key).
		if legacy != nil {
			s.log.Warn("the invitation link key is still kept in the database; configure one to move it out")
			return legacy, nil
		}
		s.log.Warn("no invitation link key configured: using a random one for this process only")
		return freshLinkKey()
	}
	if legacy == nil {
		return key, nil
	}
	if !hmac.Equal(key, legacy) {
		return nil, errLinkKeyConflict
	}
	if _, err := s.writer.ExecContext(ctx, s.d.q("DELETE FROM settings WHERE name = ?"), legacyLinkKeySetting); err != nil {
		return nil, err
	}
	s.log.Info("moved the invitation link key out of the database")
	return key, nil
}

// legacyLinkKey returns the key an earlier version kept in the database, or nil.
func (s *Store) legacyLinkKey(ctx context.Context) ([]byte, error) {
	var stored string
	err := s.writer.QueryRowContext(ctx, s.d.q("SELECT value FROM settings WHERE name = ?"), legacyLinkKeySetting).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	}
	key, err := hex.DecodeString(stored)
	if err != nil || len(key) == 0 {
		return nil, errors.New("the database's settings row link_key is not a hexadecimal key")
	}
	return key, nil
}

// sqliteLinkKey reads the key file beside a SQLite database, creating it on first use
// with the legacy key if there is one (so links of pending invitations keep working),
// else with a new random key.
func (s *Store) sqliteLinkKey(path string, legacy []byte) ([]byte, error) {
	key, err := ReadLinkKeyFile(path)
	switch {
	case err == nil:
		return key, makePrivate(path, s.log)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("link key file %s: %w", filepath.Base(path), err)
	}
	key = legacy
	if key == nil {
		if key, err = freshLinkKey(); err != nil {
			return nil, err
		}
	}
	return createLinkKeyFile(path, key)
}

func freshLinkKey() ([]byte, error) {
	key := make([]byte, linkKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, nil
}

// createLinkKeyFile writes key to path, mode 0600, all or nothing: into a temporary
// file that is synced and then linked into place, which fails if path exists. Of two
// stores opening the same new database at once, the one that loses reads the
// winner's key, so both use the same.
func createLinkKeyFile(path string, key []byte) ([]byte, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create the link key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hexKeyPrefix + hex.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write the link key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return ReadLinkKeyFile(path)
	} else if err != nil {
		return nil, fmt.Errorf("create the link key file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("sync the directory of the link key file: %w", err)
	}
	return key, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
