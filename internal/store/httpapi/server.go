package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
)

// DefaultMaxBodyBytes is the request body limit; a larger body is refused with 413.
const DefaultMaxBodyBytes = 1 << 20

// defaultReadyTimeout bounds the database ping of /readyz, so a hung database makes
// the probe fail instead of piling up.
const defaultReadyTimeout = 2 * time.Second

// Authenticator resolves a bearer token to its principal. *auth.Tokens is one.
type Authenticator interface {
	Authenticate(token string) (auth.Principal, bool)
}

// Options tune the server. The zero value is usable.
type Options struct {
	// Logger receives one line per request (route pattern, status, duration) and
	// server-side failures. Nil discards.
	Logger *slog.Logger
	// Registry receives the HTTP metrics and is what /metrics serves. Nil means a new
	// registry with only the server's own metrics.
	Registry *prometheus.Registry
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ReadyTimeout bounds the database ping of /readyz; 0 means 2s.
	ReadyTimeout time.Duration
}

// Server is the store's HTTP handler.
type Server struct {
	svc      store.Service
	auth     Authenticator
	log      *slog.Logger
	mux      *http.ServeMux
	routes   []route
	metrics  *metrics
	registry *prometheus.Registry
	// metricsHandler serves the registry; built once, it registers its own error counter.
	metricsHandler http.Handler
	maxBody        int64
	readyTimeout   time.Duration
}

// New returns the HTTP handler of svc. Requests to /api/v1 must carry a bearer token
// that authn knows; admin tokens may write, reader tokens only read. Servers that
// share a Registry share their metrics; the error reports a conflicting metric
// already registered there.
func New(svc store.Service, authn Authenticator, opts Options) (*Server, error) {
	s := &Server{
		svc:          svc,
		auth:         authn,
		log:          opts.Logger,
		mux:          http.NewServeMux(),
		registry:     opts.Registry,
		maxBody:      opts.MaxBodyBytes,
		readyTimeout: opts.ReadyTimeout,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.readyTimeout <= 0 {
		s.readyTimeout = defaultReadyTimeout
	}
	m, err := newMetrics(s.registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.metricsHandler = promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.handler(rt))
	}
	return s, nil
}

// ServeHTTP routes the request and records it by route pattern.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	_, pattern := s.mux.Handler(r)
	sw := NewStatusWriter(w)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "handler panicked", slog.String("route", routeLabel(pattern)), slog.Any("panic", v))
			if !sw.WroteHeader() {
				writeProblem(sw, newProblem(store.CodeInternal, "", detailInternal))
			}
		}
		s.observe(r.Context(), r.Method, pattern, sw.Status, time.Since(start))
	}()
	if pattern == "" {
		// Not found or method not allowed: answer in the API's own error format.
		s.mux.ServeHTTP(&unmatchedWriter{StatusWriter: sw}, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// handlerFunc is a handler that reports failures as an error, sent as a problem.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handler wraps a route's handler with authentication, authorisation and the body
// limit.
func (s *Server) handler(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Access != AccessOpen {
			p, ok := s.authorize(w, r, rt.Access)
			if !ok {
				return
			}
			r = r.WithContext(withPrincipal(r.Context(), p))
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		}
		if err := rt.handle(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// unmatchedWriter replaces the mux's plain-text 404 and 405 answers with problems.
type unmatchedWriter struct {
	*StatusWriter
	replaced bool
}

func (w *unmatchedWriter) WriteHeader(code int) {
	var p Problem
	switch code {
	case http.StatusNotFound:
		p = newProblem(store.CodeNotFound, "", detailNotFound)
	case http.StatusMethodNotAllowed:
		p = newProblem(CodeMethodNotAllowed, "", detailMethodNotAllowed)
	default:
		w.StatusWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	w.Header().Del("Content-Length")
	writeProblem(w.StatusWriter, p)
}

func (w *unmatchedWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // the mux's text body; the problem is already written
	}
	return w.StatusWriter.Write(b)
}

// observe records a finished request. Only the route pattern is used: the raw path
// may hold an invitation token or a user key, the query an email address.
func (s *Server) observe(ctx context.Context, method, pattern string, status int, d time.Duration) {
	route := routeLabel(pattern)
	s.metrics.observe(route, status, d)
	s.log.LogAttrs(ctx, RequestLevel(method, pattern, status), "request",
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d))
}

func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	return pattern
}
