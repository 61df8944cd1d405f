package main

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Entry is one file of an archive.
type Entry struct {
	Name string      // path in the archive, slash-separated
	Mode fs.FileMode // permission bits
	Path string      // the file to copy in
}

// WriteTarGz writes entries as a gzipped tar, in name order, each a regular file owned
// by 0:0 and stamped with mtime. The gzip header carries no name and no time, so the
// bytes depend on the entries and mtime only.
func WriteTarGz(w io.Writer, entries []Entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, e := range sorted(entries) {
		err := copyEntry(e, func(size int64) (io.Writer, error) {
			h := &tar.Header{
				Typeflag: tar.TypeReg,
				Name:     e.Name,
				Mode:     int64(e.Mode.Perm()),
				Size:     size,
				ModTime:  mtime,
				Format:   tar.FormatUSTAR,
			}
			return tw, tw.WriteHeader(h)
		})
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// WriteZip writes entries as a zip, in name order, deflated, with Unix permissions
// (Windows ignores them; unzip elsewhere keeps the executable bit) and mtime as both
// the MS-DOS time (in UTC) and the extended timestamp.
func WriteZip(w io.Writer, entries []Entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, e := range sorted(entries) {
		err := copyEntry(e, func(int64) (io.Writer, error) {
			h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: mtime.UTC()}
			h.SetMode(e.Mode.Perm())
			return zw.CreateHeader(h)
		})
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

// WriteArchiveFile writes entries to path, as a zip if the name ends in .zip and as a
// gzipped tar otherwise, through a temporary file, so a failed build never leaves a
// truncated archive behind.
func WriteArchiveFile(path string, entries []Entry, mtime time.Time) error {
	write := WriteTarGz
	if strings.HasSuffix(path, ".zip") {
		write = WriteZip
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp, entries, mtime); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// copyEntry copies e's file into the writer that open returns for its size.
func copyEntry(e Entry, open func(size int64) (io.Writer, error)) error {
	f, err := os.Open(e.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", e.Path)
	}
	w, err := open(fi.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	n, err := io.Copy(w, f)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("%s: %s changed while it was copied", e.Name, e.Path)
	}
	return nil
}

func sorted(entries []Entry) []Entry {
	s := append([]Entry(nil), entries...)
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}
