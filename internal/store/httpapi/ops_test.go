package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/studio-operator/studio-operator/internal/store"
)

// faultyService injects failures into a real store.
type faultyService struct {
	store.Service
	pingErr    error
	getUserErr error
	panicOn    string
}

func (f faultyService) Ping(ctx context.Context) error {
	if f.pingErr != nil {
		return f.pingErr
	}
	return f.Service.Ping(ctx)
}

func (f faultyService) GetUser(ctx context.Context, key string) (store.User, error) {
	if key == f.panicOn {
		panic("boom")
	}
	if f.getUserErr != nil {
		return store.User{}, f.getUserErr
	}
	return f.Service.GetUser(ctx, key)
}

func TestReadiness(t *testing.T) {
	e := newEnv(t, envOptions{wrap: func(s store.Service) store.Service {
		return faultyService{Service: s, pingErr: store.Unavailable(errors.New("connection refused"))}
	}})
	r := e.do(t, request{method: http.MethodGet, path: "/readyz", token: noToken})
	if p := r.problem(t); r.status != http.StatusServiceUnavailable || p.Code != store.CodeUnavailable {
		t.Fatalf("readyz with the database down = %d %+v", r.status, p)
	}
	if r := e.do(t, request{method: http.MethodGet, path: "/healthz", token: noToken}); r.status != http.StatusOK || string(r.body) != "ok\n" {
		t.Errorf("healthz must not depend on the database: %d %s", r.status, r.body)
	}
}

func TestInternalErrorsAreNotDisclosed(t *testing.T) {
	e := newEnv(t, envOptions{wrap: func(s store.Service) store.Service {
		return faultyService{Service: s, getUserErr: errors.New("pq: relation users does not exist"), panicOn: "panics"}
	}})
	r := e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice"})
	p := r.problem(t)
	if r.status != http.StatusInternalServerError || p.Code != store.CodeInternal || strings.Contains(p.Detail, "relation") {
		t.Errorf("internal error = %d %+v", r.status, p)
	}
	if !strings.Contains(e.logs.String(), "relation users does not exist") {
		t.Error("the cause of an internal error is not logged")
	}
	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/users/panics"})
	if p := r.problem(t); r.status != http.StatusInternalServerError || p.Code != store.CodeInternal {
		t.Errorf("panic = %d %+v", r.status, p)
	}
}

func TestMetricsAndLogsUseRoutePatterns(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice"})
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users?email=alice%40example.com"})
	e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice", token: "wrong-token"})
	r := e.do(t, request{method: http.MethodGet, path: "/metrics", token: noToken})
	metrics := string(r.body)
	for _, want := range []string{
		`studio_store_http_requests_total{code="200",route="GET /api/v1/users/{user}"} 1`,
		`studio_store_http_requests_total{code="401",route="GET /api/v1/users/{user}"} 1`,
		`studio_store_http_requests_total{code="201",route="PUT /api/v1/users/{user}"} 1`,
		`studio_store_http_request_duration_seconds_bucket{code="200",route="GET /api/v1/users",le="+Inf"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	logs := e.logs.String()
	for _, secret := range []string{"alice", "example.com", adminToken, readerToken, "wrong-token"} {
		if strings.Contains(metrics, secret) {
			t.Errorf("metrics contain %q", secret)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}
