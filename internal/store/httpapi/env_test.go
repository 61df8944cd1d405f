package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
)

// Test tokens and their subjects.
const (
	adminToken    = "test-admin-token-0123456789"
	adminSubject  = "ops"
	readerToken   = "test-reader-token-0123456789"
	readerSubject = "grafana"
	// noToken asks request to send no Authorization header.
	noToken = "-"
)

// env is a store served over real HTTP on 127.0.0.1, on a SQLite file, behind the
// contract middleware.
type env struct {
	srv   *httptest.Server
	store *sqlstore.Store
	logs  *syncBuffer
}

type envOptions struct {
	// wrap, if set, wraps the real store (fault injection).
	wrap func(store.Service) store.Service
}

func newEnv(t *testing.T, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	srv := httptest.NewUnstartedServer(nil)
	publicURL := "http://" + srv.Listener.Addr().String()
	st, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "store.db"), sqlstore.Options{PublicURL: publicURL})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var svc store.Service = st
	if o.wrap != nil {
		svc = o.wrap(st)
	}
	tokens := &auth.Tokens{}
	if err := tokens.Add(auth.RoleAdmin, adminSubject, adminToken); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Add(auth.RoleReader, readerSubject, readerToken); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	h, err := httpapi.New(svc, tokens, httpapi.Options{
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = newContract(t).wrap(h)
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{srv: srv, store: st, logs: logs}
}

// request is one HTTP request of a test.
type request struct {
	method string
	path   string
	// token defaults to the admin token; noToken sends none.
	token  string
	header map[string]string
	// body is sent as is; json, if set, is marshalled instead.
	body string
	json any
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(t *testing.T, req request) response {
	t.Helper()
	var body io.Reader
	switch {
	case req.json != nil:
		b, err := json.Marshal(req.json)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	case req.body != "":
		body = strings.NewReader(req.body)
	}
	r, err := http.NewRequest(req.method, e.srv.URL+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	switch req.token {
	case "":
		r.Header.Set("Authorization", "Bearer "+adminToken)
	case noToken:
	default:
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// decode unmarshals the answer into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes a problem answer and checks its content type.
func (r response) problem(t *testing.T) httpapi.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, r.body)
	}
	var p httpapi.Problem
	r.decode(t, &p)
	return p
}

// syncBuffer is a log sink written by the server's goroutines and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
