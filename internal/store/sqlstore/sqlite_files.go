package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// A SQLite database holds personal data and invitation hashes, and its key file
// rebuilds every pending link: only the store's own user may read them. SQLite
// creates the -wal, -shm and -journal files with the mode of the database file, so
// creating that file 0600 before SQLite opens it covers them all.

const (
	privateFileMode = 0o600
	privateDirMode  = 0o700
)

// sqliteCompanions are the files SQLite keeps beside the database.
var sqliteCompanions = []string{"-wal", "-shm", "-journal"}

// prepareSQLiteFiles creates the database's directory 0700 when it does not exist
// (an existing one, such as a volume's mount point, is left as it is) and the
// database file 0600, and takes group and other access away from an existing
// database, its companion files and its key file.
func prepareSQLiteFiles(path string, log *slog.Logger) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, privateDirMode); err != nil {
			return fmt.Errorf("create directory of the sqlite database: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, privateFileMode)
	if err != nil {
		return fmt.Errorf("create the sqlite database: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create the sqlite database: %w", err)
	}
	files := []string{path, linkKeyFile(path)}
	for _, suffix := range sqliteCompanions {
		files = append(files, path+suffix)
	}
	for _, p := range files {
		if err := makePrivate(p, log); err != nil {
			return err
		}
	}
	return nil
}

// makePrivate takes group and other access away from the file at path, if it exists.
func makePrivate(path string, log *slog.Logger) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	case fi.Mode().Perm()&0o077 == 0:
		return nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&^0o077); err != nil {
		return fmt.Errorf("make %s private: %w", filepath.Base(path), err)
	}
	log.Info("took group and other access away from a store file", "file", filepath.Base(path))
	return nil
}
