package storeserver

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/client"
)

const testToken = "storeserver-test-token"

func testConfig(t *testing.T) Config {
	dir := t.TempDir()
	c := DefaultConfig()
	c.Listen = "127.0.0.1:0"
	c.DB = "sqlite://" + filepath.Join(dir, "studio.db")
	c.MailDir = filepath.Join(dir, "mail")
	c.AdminToken = testToken
	c.ShutdownTimeout = 10 * time.Second
	return c
}

// TestShutdownFinishesRequestsUnderWay starts a write whose body is still arriving,
// shuts the server down, then lets the body finish: the write must succeed and be
// kept, and new connections must be refused.
func TestShutdownFinishesRequestsUnderWay(t *testing.T) {
	cfg := testConfig(t)
	srv, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, bodyWriter := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, srv.URL()+"/api/v1/agencies/acme", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	// More than the transport buffers, so the server surely has the request and is
	// reading its body (JSON allows the whitespace).
	if _, err := bodyWriter.Write([]byte("{" + strings.Repeat(" ", 64<<10))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned before the request under way finished: %v", err)
	default:
	}
	if _, err := http.Get(srv.URL() + "/healthz"); err == nil {
		t.Error("a new request was accepted during shutdown")
	}
	_, _ = bodyWriter.Write([]byte(`"displayName":"Acme"}`))
	_ = bodyWriter.Close()
	if status := <-answered; status != http.StatusCreated {
		t.Fatalf("request under way answered %d, want 201", status)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	// The write is in the database: a new server on the same file sees it.
	again, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown(context.Background())
	c, err := client.New(again.URL(), client.Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := c.GetAgency(context.Background(), "acme"); err != nil || a.DisplayName != "Acme" {
		t.Fatalf("after restart: %+v, %v", a, err)
	}
}

func TestInvitationMailIsDeliveredWithoutWaitingForThePoll(t *testing.T) {
	cfg := testConfig(t)
	cfg.MailPollInterval = time.Hour // only the kick can deliver in time
	srv, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	c, err := client.New(srv.URL(), client.Options{Token: testToken, Manager: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := c.PutUser(ctx, store.Caller{}, "alice", store.UserSpec{Email: "alice@example.com", Type: "User"}); err != nil {
		t.Fatal(err)
	}
	// Let the worker's first pass (at start) go idle before the invitation.
	time.Sleep(100 * time.Millisecond)
	if _, err := c.SendInvitation(ctx, store.Caller{}, "alice", "k1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, _ := os.ReadDir(cfg.MailDir)
		n := 0
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the invitation mail was not written within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartRefusals(t *testing.T) {
	cases := map[string]struct {
		mut     func(*Config)
		wantErr string
	}{
		"bad tokens file line": {
			mut: func(c *Config) {
				c.AdminToken = ""
				c.TokensFile = filepath.Join(t.TempDir(), "tokens")
				_ = os.WriteFile(c.TokensFile, []byte("# ok\nadmin ops "+auth.HashToken("x")+"\nadmin y\n"), 0o600)
			},
			wantErr: "tokens:3: want",
		},
		"tokens file with only comments": {
			mut: func(c *Config) {
				c.AdminToken = ""
				c.TokensFile = filepath.Join(t.TempDir(), "tokens")
				_ = os.WriteFile(c.TokensFile, []byte("# nobody yet\n"), 0o600)
			},
			wantErr: "no bearer token",
		},
		"short link key": {
			mut:     withLinkKey(t, "short\n"),
			wantErr: "--link-key-file: the key must have at least 16 bytes",
		},
		"postgres without a link key file": {
			mut:     func(c *Config) { c.DB = "postgres://studio:hunter2@127.0.0.1:1/studio" },
			wantErr: "--link-key-file (or $STUDIO_STORE_LINK_KEY_FILE) is required with PostgreSQL",
		},
		"link key file not in hex": {
			mut:     withLinkKey(t, "hex:not-hexadecimal-at-all\n"),
			wantErr: "--link-key-file: the key after \"hex:\" is not hexadecimal",
		},
		"listen address in use": {
			mut: func(c *Config) {
				first, err := Start(context.Background(), testConfig(t), nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = first.Shutdown(context.Background()) })
				c.Listen = strings.TrimPrefix(first.URL(), "http://")
			},
			wantErr: "--listen",
		},
		"smtp url with a path": {
			mut:     func(c *Config) { c.SMTPURL = "smtp://user:hunter2@mail/x" },
			wantErr: "mail:",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.mut(&cfg)
			srv, err := Start(context.Background(), cfg, nil)
			if err == nil {
				_ = srv.Shutdown(context.Background())
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Start error %q, want it to contain %q (and no password)", err, tc.wantErr)
			}
		})
	}
}

// withLinkKey sets --link-key-file to a new file with content.
func withLinkKey(t *testing.T, content string) func(*Config) {
	return func(c *Config) {
		c.LinkKeyFile = filepath.Join(t.TempDir(), "key")
		if err := os.WriteFile(c.LinkKeyFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLinkKeyFileDerivesTheLinks(t *testing.T) {
	cfg := testConfig(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	// replay restarts the store with key and replays the same invitation request.
	replay := func(key string) string {
		t.Helper()
		if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.LinkKeyFile = keyFile
		srv, err := Start(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown(context.Background())
		c, err := client.New(srv.URL(), client.Options{Token: testToken})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, _, err := c.PutUser(ctx, store.Caller{}, "alice", store.UserSpec{Email: "alice@example.com", Type: "User"}); err != nil {
			t.Fatal(err)
		}
		inv, err := c.SendInvitation(ctx, store.Caller{}, "alice", "same-key")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(inv.Link, srv.URL())
	}
	first := replay("0123456789abcdef0123456789abcdef")
	if again := replay("0123456789abcdef0123456789abcdef"); again != first {
		t.Errorf("same key, replayed link %q differs from %q", again, first)
	}
	if other := replay("fedcba9876543210fedcba9876543210"); other == first {
		t.Error("another key derived the same link: --link-key-file is not used")
	}
}
