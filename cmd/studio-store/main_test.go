package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/client"
)

// binary is the studio-store built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "studio-store-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "studio-store")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build studio-store:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

const (
	adminToken  = "e2e-admin-token-4f1c9a"
	readerToken = "e2e-reader-token-77b2e0"
	userEmail   = "alice@example.com"
)

// storeProcess is a running studio-store.
type storeProcess struct {
	cmd    *exec.Cmd
	url    string
	logs   *lockedBuffer
	exited chan struct{}
	err    error
}

// lockedBuffer collects the process's stderr.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startStore runs `studio-store serve` on a free port and waits until it serves.
func startStore(t *testing.T, dir string, extra ...string) *storeProcess {
	t.Helper()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("# e2e\nreader dashboards "+auth.HashToken(readerToken)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve",
		"--listen", "127.0.0.1:0",
		"--db", "sqlite://" + filepath.Join(dir, "studio.db"),
		"--tokens-file", tokens,
		"--log-format", "json",
		"--mail-poll-interval", "100ms",
		"--shutdown-timeout", "10s",
	}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), auth.AdminTokenEnv+"="+adminToken)
	p := &storeProcess{cmd: cmd, logs: &lockedBuffer{}, exited: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			var rec struct {
				Msg     string `json:"msg"`
				Address string `json:"address"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "studio-store serving" {
				addr <- rec.Address
			}
		}
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.exited:
		t.Fatalf("studio-store exited at startup: %v\n%s", p.err, p.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("studio-store did not start:\n%s", p.logs)
	}
	return p
}

// stop sends sig and waits for the exit.
func (p *storeProcess) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("studio-store did not exit after %v:\n%s", sig, p.logs)
	}
}

func (p *storeProcess) client(t *testing.T, token string) *client.Client {
	t.Helper()
	c, err := client.New(p.url, client.Options{Token: token, Manager: "e2e", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seedAndInvite creates an agency, an environment, a user with a grant, and sends
// the user's invitation.
func seedAndInvite(t *testing.T, c *client.Client) store.Invitation {
	t.Helper()
	ctx := context.Background()
	caller := store.Caller{Source: "StudioUser//alice@1"}
	if _, _, err := c.PutAgency(ctx, caller, "acme", store.AgencySpec{DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PutEnvironment(ctx, caller, "team-a.prod", store.EnvironmentSpec{Agency: "acme", DisplayName: "Support bot"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PutUser(ctx, caller, "alice", store.UserSpec{Email: userEmail, DisplayName: "Alice", Type: cascade.UserTypeUser}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutGrants(ctx, caller, "alice", []store.Grant{{Scope: store.Scope{Environment: "team-a.prod"}, Roles: []cascade.Role{cascade.Agent}}}); err != nil {
		t.Fatal(err)
	}
	inv, err := c.SendInvitation(ctx, caller, "alice", "uid-alice/0")
	if err != nil {
		t.Fatal(err)
	}
	if inv.State != store.InvitationPending || inv.Link == "" {
		t.Fatalf("invitation = %+v", inv)
	}
	return inv
}

// eventually polls cond every 50ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	mailDir := filepath.Join(dir, "mail")
	p := startStore(t, dir, "--mail-dir", mailDir)
	admin := p.client(t, adminToken)
	ctx := context.Background()

	inv := seedAndInvite(t, admin)
	if !strings.HasPrefix(inv.Link, p.url+"/invite/") {
		t.Fatalf("link %q is not under the default public URL %s", inv.Link, p.url)
	}

	// The mail is written as an .eml file carrying the link.
	var eml []string
	eventually(t, 10*time.Second, "the invitation .eml file", func() bool {
		eml = emlFiles(t, mailDir)
		return len(eml) == 1
	})
	raw, err := os.ReadFile(eml[0])
	if err != nil {
		t.Fatal(err)
	}
	text := mailText(t, raw)
	if !strings.Contains(text, inv.Link) {
		t.Errorf("the mail does not carry the link:\n%s", text)
	}

	// A reader may read but not write.
	reader := p.client(t, readerToken)
	if _, err := reader.GetUser(ctx, "alice"); err != nil {
		t.Errorf("reader GetUser: %v", err)
	}
	if _, _, err := reader.PutAgency(ctx, store.Caller{}, "acme", store.AgencySpec{DisplayName: "X"}); !store.IsCode(err, store.CodeForbidden) {
		t.Errorf("reader PutAgency = %v, want forbidden", err)
	}

	// Open the link like a browser: page, then the form post.
	page := httpDo(t, http.MethodGet, inv.Link, "text/html")
	if !strings.Contains(page, `<form method="post"`) || !strings.Contains(page, "Alice") {
		t.Fatalf("invitation page:\n%s", page)
	}
	u, _ := url.Parse(inv.Link)
	confirmation := httpDo(t, http.MethodPost, p.url+u.Path+"/accept", "text/html")
	if !strings.Contains(confirmation, "Welcome, Alice") {
		t.Fatalf("confirmation page:\n%s", confirmation)
	}
	user, err := admin.GetUser(ctx, "alice")
	if err != nil || user.State != store.UserActive {
		t.Fatalf("after accepting: %+v, %v", user, err)
	}

	p.stop(t, syscall.SIGTERM)
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.logs)
	}
	if n := len(emlFiles(t, mailDir)); n != 1 {
		t.Errorf("%d mails written, want 1", n)
	}
	logs := p.logs.String()
	if !strings.Contains(logs, "studio-store stopped") {
		t.Errorf("no orderly shutdown in the log:\n%s", logs)
	}
	for _, secret := range []string{adminToken, readerToken, userEmail, strings.TrimPrefix(u.Path, "/invite/")} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

func TestDeliveredExactlyOnceAfterKill(t *testing.T) {
	dir := t.TempDir()
	// The SMTP server is down at first: a port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := l.Addr().String()
	_ = l.Close()
	smtpURL := "smtp://" + smtpAddr

	// A short lease: should the kill land while a retry holds the mail's claim, the
	// restarted store claims it again within the test's wait.
	flags := []string{"--smtp-url", smtpURL, "--mail-from", "Studio <studio@example.com>", "--mail-lease", "15s", "--mail-send-timeout", "2s"}
	p := startStore(t, dir, flags...)
	inv := seedAndInvite(t, p.client(t, adminToken))
	// The invitation is committed; delivery has been tried and failed.
	eventually(t, 10*time.Second, "a failed delivery attempt", func() bool {
		return strings.Contains(p.logs.String(), "mail delivery failed; will retry")
	})
	p.stop(t, syscall.SIGKILL)

	smtpServer := startSMTP(t, smtpAddr)
	p = startStore(t, dir, flags...)
	eventually(t, 30*time.Second, "delivery after the restart", func() bool { return len(smtpServer.received()) > 0 })
	// Give a duplicate every chance to show up: many poll intervals.
	time.Sleep(time.Second)
	got := smtpServer.received()
	if len(got) != 1 {
		t.Fatalf("received %d messages, want exactly 1", len(got))
	}
	if got[0].to != userEmail || !strings.Contains(mailText(t, got[0].data), inv.Link) {
		t.Errorf("the delivered message is not the invitation (to %q)", got[0].to)
	}
	p.stop(t, syscall.SIGTERM)
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.logs)
	}
}

func TestRefusesBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		args    []string
		env     []string
		wantErr string
	}{
		"no token": {
			args:    []string{"serve", "--db", "sqlite://" + filepath.Join(dir, "a.db")},
			wantErr: "no bearer token",
		},
		"bad db scheme": {
			args: []string{"serve", "--db", "mysql://localhost/studio"}, env: []string{auth.AdminTokenEnv + "=x"},
			wantErr: "--db must be",
		},
		"bad smtp url keeps the password out": {
			args: []string{"serve", "--db", "sqlite://" + filepath.Join(dir, "b.db"), "--smtp-url", "http://user:hunter2@mail"}, env: []string{auth.AdminTokenEnv + "=x"},
			wantErr: "--smtp-url must be",
		},
		"bad tokens file line": {
			args:    []string{"serve", "--listen", "127.0.0.1:0", "--db", "sqlite://" + filepath.Join(dir, "c.db"), "--tokens-file", writeFile(t, dir, "tokens", "admin ops sha256:abc\n")},
			wantErr: "tokens:1: token digest",
		},
		"missing tokens file": {
			args:    []string{"serve", "--db", "sqlite://" + filepath.Join(dir, "d.db"), "--tokens-file", filepath.Join(dir, "nope")},
			wantErr: "--tokens-file",
		},
		"bad log level": {
			args: []string{"serve", "--log-level", "loud"}, env: []string{auth.AdminTokenEnv + "=x"},
			wantErr: "--log-level must be",
		},
		"postgres without a link key file": {
			args: []string{"serve", "--db", "postgres://studio:hunter2@127.0.0.1:1/studio"}, env: []string{auth.AdminTokenEnv + "=x"},
			wantErr: "--link-key-file (or $STUDIO_STORE_LINK_KEY_FILE) is required with PostgreSQL",
		},
		"link key file from the environment": {
			args:    []string{"serve", "--db", "postgres://studio:hunter2@127.0.0.1:1/studio"},
			env:     []string{auth.AdminTokenEnv + "=x", "STUDIO_STORE_LINK_KEY_FILE=" + filepath.Join(dir, "no-such-key")},
			wantErr: "--link-key-file: open",
		},
		"unknown flag": {
			args:    []string{"serve", "--colour"},
			wantErr: "unknown flag",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = append(cleanEnv(), tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("studio-store started:\n%s", out)
			}
			if !strings.Contains(string(out), tc.wantErr) {
				t.Errorf("output %q does not contain %q", out, tc.wantErr)
			}
			if strings.Contains(string(out), "hunter2") {
				t.Error("the SMTP password is in the output")
			}
		})
	}
}

func TestVersionHelpAndHashToken(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "studio-store ") {
		t.Errorf("version: %v %s", err, out)
	}
	out, err = exec.Command(binary, "serve", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Examples:") || !strings.Contains(string(out), "--tokens-file") {
		t.Errorf("serve --help: %v %s", err, out)
	}
	cmd := exec.Command(binary, "hash-token")
	cmd.Stdin = strings.NewReader("abc\n")
	out, err = cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != auth.HashToken("abc") {
		t.Errorf("hash-token: %v %s", err, out)
	}
}

// emlFiles lists the delivered mails of dir; hidden files are deliveries still
// being written.
func emlFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if !strings.HasPrefix(filepath.Base(p), ".") {
			out = append(out, p)
		}
	}
	return out
}

// cleanEnv is the environment without an admin token from the developer's shell.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, auth.AdminTokenEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// httpDo sends a bare request (no token: the link is the credential) and returns
// the body of a 200 answer.
func httpDo(t *testing.T, method, u, accept string) string {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s link = %d\n%s", method, resp.StatusCode, b)
	}
	return string(b)
}
