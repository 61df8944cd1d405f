package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// An archive depends on its entries' names, modes and contents and on the time only:
// not on the order the entries are given in, nor on the files' own times, owners or
// modes on disk.
func TestArchiveDependsOnContentOnly(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode, mtime time.Time) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return path
	}
	binA := write("bin-a", "program", 0o700, time.Unix(1, 0))
	licA := write("lic-a", "license", 0o600, time.Unix(2, 0))
	binB := write("bin-b", "program", 0o644, time.Now())
	licB := write("lic-b", "license", 0o755, time.Now())

	for _, ext := range []string{".tar.gz", ".zip"} {
		t.Run(ext, func(t *testing.T) {
			one := filepath.Join(t.TempDir(), "a"+ext)
			two := filepath.Join(t.TempDir(), "b"+ext)
			if err := WriteArchiveFile(one, []Entry{{"kubectl-studio", 0o755, binA}, {"LICENSE", 0o644, licA}}, testMtime); err != nil {
				t.Fatal(err)
			}
			if err := WriteArchiveFile(two, []Entry{{"LICENSE", 0o644, licB}, {"kubectl-studio", 0o755, binB}}, testMtime); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(readFile(t, one), readFile(t, two)) {
				t.Error("the same entries in another order, from other files, gave other bytes")
			}
			var got []string
			for _, e := range readArchive(t, one) {
				got = append(got, e.name+" "+e.mode.String()+" "+string(e.data))
				if !e.mtime.Equal(testMtime) {
					t.Errorf("%s: mtime %s, want %s", e.name, e.mtime, testMtime)
				}
			}
			want := []string{"LICENSE -rw-r--r-- license", "kubectl-studio -rwxr-xr-x program"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if fi, err := os.Stat(one); err != nil {
				t.Error(err)
			} else if fi.Mode().Perm() != 0o644 {
				t.Errorf("the archive file has mode %s, want 644", fi.Mode())
			}

			later := filepath.Join(t.TempDir(), "c"+ext)
			if err := WriteArchiveFile(later, []Entry{{"kubectl-studio", 0o755, binA}, {"LICENSE", 0o644, licA}}, testMtime.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(readFile(t, one), readFile(t, later)) {
				t.Error("another time gave the same bytes")
			}
		})
	}
}
