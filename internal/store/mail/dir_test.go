package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	mailpkg "github.com/studio-operator/studio-operator/internal/store/mail"
)

func TestDirSenderWritesOneEmlPerMessage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	d, err := mailpkg.NewDirSender(dir)
	if err != nil {
		t.Fatal(err)
	}
	d.Clock = func() time.Time { return testNow }
	m := testOutboxMessage(t)
	msg, err := mailpkg.Compose(testFrom, m, testNow)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := d.Send(ctx, "", m.To, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	// Delivered again (the worker crashed before completing): no second file.
	if err := d.Send(ctx, "", m.To, msg); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	// Another message gets its own file.
	m2 := m
	m2.MessageID = "<inv-8.def@studio.example>"
	msg2, err := mailpkg.Compose(testFrom, m2, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send(ctx, "", m2.To, msg2); err != nil {
		t.Fatal(err)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^20260102T100405\.000000000Z-inv-[78]\.[a-z]{3}\.[0-9a-f]{12}\.eml$`)
	if len(entries) != 2 {
		t.Fatalf("mail dir has %d entries, want 2 (no temporary files left)", len(entries))
	}
	for _, e := range entries {
		if !name.MatchString(e.Name()) {
			t.Errorf("file name %q does not match %v", e.Name(), name)
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %o, want 600", e.Name(), perm)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Errorf("file content differs from the composed message")
	}
	parsed := parseMessage(t, got)
	if parsed.Header.Get("Message-Id") != m.MessageID {
		t.Errorf("Message-ID = %q", parsed.Header.Get("Message-Id"))
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("mail dir has mode %o, want no access for group and others", perm)
	}
}

func TestDirSenderHonoursCancellation(t *testing.T) {
	dir := t.TempDir()
	d, err := mailpkg.NewDirSender(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := d.Send(ctx, "", "alice@example.com", []byte("Message-ID: <a@b>\r\n\r\nx\r\n")); err == nil {
		t.Fatal("Send with a cancelled context succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("cancelled Send wrote %d files", len(entries))
	}
}

func TestDirSenderFailsWhenTheDirIsGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	d, err := mailpkg.NewDirSender(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Replace the directory by a file: no one, not even root, can write into it.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err = d.Send(t.Context(), "", "alice@example.com", []byte("Message-ID: <a@b>\r\n\r\nx\r\n"))
	if err == nil {
		t.Fatal("Send into a missing directory succeeded")
	}
	if got := mailpkg.Classify(err); got != mailpkg.ClassTemporary {
		t.Errorf("Classify = %q, want temporary (a person can fix the disk)", got)
	}
}

// Two senders on one directory (two store processes, or one restarted) still write a
// message once: what the other wrote is seen although each keeps its own index.
func TestDirSenderSeesWhatAnotherWrote(t *testing.T) {
	dir := t.TempDir()
	a, err := mailpkg.NewDirSender(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mailpkg.NewDirSender(dir)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(id string) []byte { return []byte("Message-ID: <" + id + "@studio>\r\n\r\nx\r\n") }
	for i := range 50 {
		if err := a.Send(t.Context(), "", "alice@example.com", msg(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// b read the directory before a's last writes? It must look again.
	if err := b.Send(t.Context(), "", "alice@example.com", msg("m49")); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(t.Context(), "", "alice@example.com", msg("b1")); err != nil {
		t.Fatal(err)
	}
	// and a, after b wrote, must not take its index for the truth.
	if err := a.Send(t.Context(), "", "alice@example.com", msg("b1")); err != nil {
		t.Fatal(err)
	}
	for _, again := range []string{"m0", "m25", "b1"} {
		if err := a.Send(t.Context(), "", "alice@example.com", msg(again)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 51 {
		t.Errorf("%d files for 51 distinct messages", len(entries))
	}
}

func TestRecipientsCountsTheDeliveredMailsByAddress(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	if got, err := mailpkg.Recipients(dir); err != nil || len(got) != 0 {
		t.Fatalf("Recipients of a missing dir = %v, %v; want none", got, err)
	}
	d, err := mailpkg.NewDirSender(dir)
	if err != nil {
		t.Fatal(err)
	}
	send := func(id, to string) {
		t.Helper()
		m := testOutboxMessage(t)
		m.MessageID, m.To = id, to
		msg, err := mailpkg.Compose(testFrom, m, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Send(t.Context(), "", to, msg); err != nil {
			t.Fatal(err)
		}
	}
	send("<a@studio.example>", "ana@example.com")
	send("<b@studio.example>", "Ana@Example.com")
	send("<c@studio.example>", "bea@example.com")
	// A mail still being written is none.
	if err := os.WriteFile(filepath.Join(dir, "x.eml.part"), []byte("To: cem@example.com\r\n\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := mailpkg.Recipients(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"ana@example.com": 2, "bea@example.com": 1}; !maps.Equal(got, want) {
		t.Errorf("Recipients = %v, want %v", got, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.eml"), []byte("not a mail"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mailpkg.Recipients(dir); err == nil || !strings.Contains(err.Error(), "broken.eml") {
		t.Errorf("a broken mail gives %v, want an error naming it", err)
	}
}
