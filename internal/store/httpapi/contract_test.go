package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store/httpapi"
)

// Test-only request headers that tell the contract middleware what a test means to
// send; they are not part of the API.
const (
	// headerOffSpec marks a request to a path or method the document does not have
	// (404/405 tests): only the problem shape of the answer is checked.
	headerOffSpec = "X-Test-Off-Spec"
	// headerInvalid marks a request that is invalid on purpose: the request is not
	// validated, the answer still is.
	headerInvalid = "X-Test-Invalid-Request"
)

func init() {
	// The invitation pages are HTML; validate them as plain strings.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

// loadSpec parses and validates the embedded OpenAPI document once.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(httpapi.OpenAPI)
		if specErr == nil {
			specErr = specDoc.Validate(context.Background())
		}
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specDoc
}

// contract validates every request and answer that passes through it against the
// OpenAPI document, failing the test on any difference: spec and code cannot drift.
type contract struct {
	t      *testing.T
	router routers.Router
}

func newContract(t *testing.T) *contract {
	router, err := gorillamux.NewRouter(loadSpec(t))
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &contract{t: t, router: router}
}

func validationOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
}

func (c *contract) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			c.t.Errorf("contract: read request body: %v", err)
		}
		what := r.Method + " " + r.URL.Path
		rec := httptest.NewRecorder()
		serve := func() {
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(rec, r)
			copyResponse(w, rec)
		}
		if r.Header.Get(headerOffSpec) != "" {
			serve()
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				c.t.Errorf("contract: off-spec %s answered %d with %q, want a problem", what, rec.Code, ct)
			}
			return
		}
		route, params, err := c.router.FindRoute(r)
		if err != nil {
			c.t.Errorf("contract: %s is not in openapi.yaml: %v", what, err)
			serve()
			return
		}
		ctx := context.Background()
		in := &openapi3filter.RequestValidationInput{
			Request: r.Clone(ctx), PathParams: params, Route: route, Options: validationOptions(),
		}
		in.Request.Body = io.NopCloser(bytes.NewReader(body))
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil && r.Header.Get(headerInvalid) == "" {
			c.t.Errorf("contract: request %s does not match openapi.yaml: %v", what, err)
		}
		serve()
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 rec.Code,
			Header:                 rec.Header(),
			Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
			Options:                validationOptions(),
		}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			c.t.Errorf("contract: answer %d to %s does not match openapi.yaml: %v\nbody: %s", rec.Code, what, err, rec.Body.String())
		}
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// TestRoutesMatchSpec checks that every route the server registers is in the
// document and that the document has no operation the server does not serve.
func TestRoutesMatchSpec(t *testing.T) {
	doc := loadSpec(t)
	var inSpec []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, method+" "+path)
		}
	}
	srv, err := httpapi.New(nil, nil, httpapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, r := range srv.Routes() {
		served = append(served, r.Method+" "+r.Path)
	}
	sort.Strings(inSpec)
	sort.Strings(served)
	if diff := cmp.Diff(inSpec, served); diff != "" {
		t.Errorf("routes (-openapi.yaml +server):\n%s", diff)
	}
}

// TestSpecSecurityMatchesAccess checks that the document marks exactly the open
// routes as needing no bearer token.
func TestSpecSecurityMatchesAccess(t *testing.T) {
	doc := loadSpec(t)
	srv, err := httpapi.New(nil, nil, httpapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Routes() {
		op := doc.Paths.Value(r.Path).GetOperation(r.Method)
		if op == nil {
			continue // reported by TestRoutesMatchSpec
		}
		open := op.Security != nil && len(*op.Security) == 0
		if open != (r.Access == httpapi.AccessOpen) {
			t.Errorf("%s %s: open in openapi.yaml = %v, server access = %v", r.Method, r.Path, open, r.Access)
		}
		if !open && op.Responses.Value("401") == nil {
			t.Errorf("%s %s needs a token but documents no 401", r.Method, r.Path)
		}
		if r.Access == httpapi.AccessWrite && op.Responses.Value("403") == nil {
			t.Errorf("%s %s is a write but documents no 403", r.Method, r.Path)
		}
	}
}

// TestServedDocumentIsTheEmbeddedOne guards against serving a stale copy.
func TestServedDocumentIsTheEmbeddedOne(t *testing.T) {
	env := newEnv(t)
	resp := env.do(t, request{method: http.MethodGet, path: "/openapi.yaml"})
	if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /openapi.yaml = %d %s", resp.status, resp.header.Get("Content-Type"))
	}
	if !bytes.Equal(resp.body, httpapi.OpenAPI) {
		t.Error("served document differs from the embedded one")
	}
}
