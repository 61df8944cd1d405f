package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File modes of the mail directory: mails hold invitation links, so only the store's
// own user may read them.
const (
	mailDirMode  = 0o700
	mailFileMode = 0o600
)

// DirSender "delivers" mail by writing each message to <dir>/<timestamp>-<id>.eml,
// the embedded default when no SMTP server is configured. Files are
// written atomically (temporary file, fsync, rename), so a reader never sees half a
// mail; id comes from the Message-ID, so delivering the same message again after a
// crash writes no second file.
//
// Which ids the directory holds is kept in memory and read again from the directory
// only when its modification time says someone else added or removed a file, so a
// delivery costs a stat, not a listing of every mail delivered before (which made
// delivering n mails cost n² directory reads).
type DirSender struct {
	dir string
	// Clock stamps file names; time.Now if nil.
	Clock func() time.Time

	mu sync.Mutex
	// ids are the ids of the .eml files in dir as of dirTime, dir's modification
	// time when they were read or when this sender last wrote there.
	ids     map[string]bool
	dirTime time.Time
}

// NewDirSender creates dir (mode 0700) if needed and returns a sender writing to it.
func NewDirSender(dir string) (*DirSender, error) {
	if err := os.MkdirAll(dir, mailDirMode); err != nil {
		return nil, fmt.Errorf("mail dir: %w", err)
	}
	return &DirSender{dir: dir}, nil
}

// Dir is the directory mails are written to.
func (d *DirSender) Dir() string { return d.dir }

// Send writes msg to a new .eml file. The envelope is not kept: the message's own
// From and To say the same.
func (d *DirSender) Send(ctx context.Context, _, _ string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id := fileID(msg)
	d.mu.Lock()
	defer d.mu.Unlock()
	delivered, err := d.holds(id)
	if err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if delivered {
		return nil // delivered before a crash kept the outbox from hearing of it
	}
	name := d.now().UTC().Format("20060102T150405.000000000Z") + "-" + id + ".eml"
	if err := writeFileAtomic(d.dir, name, msg); err != nil {
		return err
	}
	d.ids[id] = true
	if fi, err := os.Stat(d.dir); err == nil {
		d.dirTime = fi.ModTime()
	}
	return nil
}

// holds reports whether dir has a mail with id; called with mu held. It reads the
// directory again when it changed since the sender last looked or wrote.
func (d *DirSender) holds(id string) (bool, error) {
	fi, err := os.Stat(d.dir)
	if err != nil {
		return false, err
	}
	if d.ids == nil || !fi.ModTime().Equal(d.dirTime) {
		entries, err := os.ReadDir(d.dir)
		if err != nil {
			return false, err
		}
		ids := make(map[string]bool, len(entries))
		for _, e := range entries {
			if name, ok := strings.CutSuffix(e.Name(), ".eml"); ok {
				if _, fid, ok := strings.Cut(name, "-"); ok {
					ids[fid] = true
				}
			}
		}
		d.ids, d.dirTime = ids, fi.ModTime()
	}
	return d.ids[id], nil
}

func (d *DirSender) now() time.Time {
	if d.Clock != nil {
		return d.Clock()
	}
	return time.Now()
}

// writeFileAtomic writes data to dir/name through a temporary file in dir, so the
// rename is atomic, and syncs the directory so the new name survives a crash.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, ".tmp-*.part") // mode 0600; not *.eml, so watchers of *.eml never see a half-written mail
	if err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mailFileMode); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if dh, err := os.Open(dir); err == nil {
		_ = dh.Sync() // best effort: not every file system can sync a directory
		dh.Close()
	}
	return nil
}

// fileID names a message's file after its Message-ID: its left part when that is a
// plain token (readable), then a hash of the whole id (unique). A message without
// one is named by the hash of its bytes.
func fileID(msg []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	id := ""
	if err == nil {
		id = strings.Trim(strings.TrimSpace(m.Header.Get("Message-ID")), "<>")
	}
	if id == "" {
		sum := sha256.Sum256(msg)
		return hex.EncodeToString(sum[:12])
	}
	sum := sha256.Sum256([]byte(id))
	hash := hex.EncodeToString(sum[:6])
	if left, _, _ := strings.Cut(id, "@"); isFileToken(left) {
		return left + "." + hash
	}
	return hash
}

// isFileToken reports whether s is safe and short enough as part of a file name.
func isFileToken(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Recipients counts the mails a DirSender delivered to dir (its .eml files; a mail
// still being written is not one) by their To address, lowercased. Nothing beyond
// the To header is read: the body holds the invitation link. A missing dir holds no
// mail.
func Recipients(dir string) (map[string]int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, path := range files {
		to, err := recipient(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		counts[strings.ToLower(to)]++
	}
	return counts, nil
}

// recipient is the one address of the To header of the mail at path.
func recipient(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		return "", fmt.Errorf("not a mail: %w", err)
	}
	to, err := mail.ParseAddressList(msg.Header.Get("To"))
	if err != nil || len(to) != 1 {
		return "", fmt.Errorf("want one To address, got %d (%v)", len(to), err)
	}
	return to[0].Address, nil
}
